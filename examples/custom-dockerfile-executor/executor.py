from docarray import DocList
from docarray.documents import TextDoc
from jina import Executor, requests


class ShoutExecutor(Executor):
    """Upper-cases every document's text."""

    @requests
    def shout(self, docs: DocList[TextDoc], **kwargs) -> DocList[TextDoc]:
        for doc in docs:
            doc.text = (doc.text or "").upper()
        return docs
