"""Built-in kefu plugins."""
