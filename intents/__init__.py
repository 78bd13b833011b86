"""The bundled demo bot: an e-commerce customer-service bot in Chinese."""
