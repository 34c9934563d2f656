"""Custom actions for the Berry Events Rasa assistant (run by ``rasa run actions``, Rasa venv).

They reach the hub only over its REST API with an API key (``BERRY_HUB_URL``,
``BERRY_HUB_API_KEY``) and never import hub code: the Rasa venv has none of its dependencies.
"""
