"""Embed kefu in ten lines: load the demo bot and hold a short conversation."""

from importlib import resources

from kefu import Engine

bot = Engine.from_path(str(resources.files("kefu.intents")))
for text in ["你好", "我的订单到哪了", "2024112712345678", "那运费呢?", "转人工"]:
    reply = bot.reply(text, session_id="demo-user")
    print(f"你: {text}\n{bot.spec.settings.name}: {reply.text}  [{reply.action} {reply.intent}]")
