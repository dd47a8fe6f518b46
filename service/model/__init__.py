"""The model boundary: the only package that imports ``openai``.

``client`` speaks the OpenAI chat-completions protocol (:class:`~.client.ModelClient`);
``modes`` holds the output modes, what each adds to a request, and the memory of which one each
server accepts; ``refusals`` tells a refused mode from a failed request; ``replies`` reads
answers, error bodies and ``/models`` listings (:class:`~.replies.Completion`); ``protocol`` is
what the engines need from any model (:class:`~.protocol.ChatModel`: the client, or a fake);
``identity`` names a server in one spelling, for the answer cache's keys.
Import from the submodules: importing this package does not load ``openai``.
"""
