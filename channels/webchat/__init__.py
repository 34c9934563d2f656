"""Web chat: the Socket.IO ``/chat`` namespace for visitors and the embeddable widget."""
