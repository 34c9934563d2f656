"""The embedded bot engine: no Rasa, an intent classifier on sentence embeddings, answers from the KB."""
