"""The mock OpenAI-compatible model server, by concern; :mod:`service.devtools.mockllm` is its
public face.

``config`` (what it does, what it counted), ``protocol`` (reading chat-completions requests,
shaping answers), ``mapping`` / ``reducing`` / ``generic`` (the answers to map, reduce and any
other prompt), ``server`` (the app: faults, latency, concurrency; running it).
"""
