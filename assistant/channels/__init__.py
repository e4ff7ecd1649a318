"""The faces of the one assistant: HTTP API, Gradio web app and command line. Each is thin and calls
``service.Assistant``; add a channel here."""
