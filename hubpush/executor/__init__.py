"""The executor folder and what is built from it: the folder loader (:mod:`.folder`), the
build context streamed to the engine (:mod:`.context`), the Dockerfile template and the
image labels (:mod:`.template`). Local files only: no registry, no engine."""
