from docarray import DocList
from docarray.documents import TextDoc
from jina import Executor, requests


class HelloExecutor(Executor):
    """A minimal Jina executor: prefixes every document's text with 'hello, '."""

    @requests
    def hello(self, docs: DocList[TextDoc], **kwargs) -> DocList[TextDoc]:
        for doc in docs:
            doc.text = f"hello, {doc.text}"
        return docs
