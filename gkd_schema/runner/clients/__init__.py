"""Clients of the servers a run talks to (today: vLLM's OpenAI-compatible server).

Below preflight and the generation and teacher stages, which all use them: preflight
to check a server before any weights load, the stages to work with it. Standard
library only (`urllib`), so that checking a server needs nothing gkd does not ship.
"""
