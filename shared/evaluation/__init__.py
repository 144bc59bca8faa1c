"""Evaluation of a fine-tuned model against its base on the held-out split (issue 25)."""
