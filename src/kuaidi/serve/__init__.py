"""`kuaidi serve`: a LAN pull-through mirror that speaks the Hugging Face protocol.

Clients set ``HF_ENDPOINT=http://lab-server:PORT``; the server answers from its own HF-layout
cache and fills what it lacks through the route ladder and the segmented engine, once per blob.
"""
