from jina import Executor, requests


class ShoutExecutor(Executor):
    """Upper-cases every document's text."""

    @requests
    def shout(self, docs, **kwargs):
        for doc in docs:
            doc.text = (doc.text or "").upper()
        return docs
