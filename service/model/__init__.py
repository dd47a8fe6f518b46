"""The model boundary: the only package that imports ``openai``.

``client`` speaks the OpenAI chat-completions protocol (:class:`~.client.ModelClient`);
``protocol`` is what the engines need from any model (:class:`~.protocol.ChatModel`: the
client, or a fake); ``modes`` holds the output modes and the memory of which one each server
accepts. Import from the submodules: importing this package does not load ``openai``.
"""
