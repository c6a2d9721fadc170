from jina import Executor, requests


class HelloExecutor(Executor):
    """A minimal Jina executor: prefixes every document's text with 'hello, '."""

    @requests
    def hello(self, docs, **kwargs):
        for doc in docs:
            doc.text = f"hello, {doc.text}"
        return docs
