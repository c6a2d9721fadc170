#!/usr/bin/env bash
# The main job on a bare Debian 12 machine (as root): bring up a local hub (registry:2 on
# localhost:5000, or localhost:$HUBPUSH_QUICKSTART_PORT), publish the example executor with hubpush,
# delete it from the engine, `docker pull` it back, run it and send it a request.
# Safe to run again: a second run updates the executor with the secret cached by the first.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${HUBPUSH_QUICKSTART_PORT:-5000}"
REGISTRY="localhost:$PORT"
EXAMPLE=examples/hello-executor
NAME=HelloExecutor
IMAGE="$REGISTRY/hello-executor:latest"
if [ -t 2 ]; then say() { printf '\n\033[1;36m==> %s\033[0m\n' "$*" >&2; }; else say() { printf '\n==> %s\n' "$*" >&2; }; fi

bash scripts/bootstrap.sh
bash scripts/python-env.sh
export PATH="$PWD/.venv/bin:$PATH" HUBPUSH_REGISTRY="$REGISTRY"

say "Local hub: registry:2 on $REGISTRY (container hubpush-registry, data in volume hubpush-registry-data)"
if [ "$(docker inspect -f '{{.State.Running}}' hubpush-registry 2>/dev/null)" != "true" ]; then
    docker rm -f hubpush-registry >/dev/null 2>&1 || true
    docker run -d --name hubpush-registry --restart unless-stopped \
        -p "127.0.0.1:$PORT:5000" -v hubpush-registry-data:/var/lib/registry registry:2 >/dev/null
fi
registry_up() { python3 -c "import urllib.request; urllib.request.urlopen('http://$REGISTRY/v2/', timeout=2)" 2>/dev/null; }
for _ in $(seq 50); do registry_up && break; sleep 0.2; done
registry_up || { echo "registry on $REGISTRY did not answer; see: docker logs hubpush-registry" >&2; exit 1; }

if hubpush show "$NAME" >/dev/null 2>&1; then
    say "hubpush push --force-update $NAME $EXAMPLE   (already published: the cached secret is used)"
    rc=0
    hubpush push --force-update "$NAME" "$EXAMPLE" || rc=$?
    if [ "$rc" = 22 ] || [ "$rc" = 23 ]; then
        echo "$NAME in this hub was published by another user or machine, whose secret is not here." >&2
        echo "Set HUBPUSH_SECRET to it, or start a fresh hub: docker rm -f hubpush-registry && docker volume rm hubpush-registry-data" >&2
        exit "$rc"
    elif [ "$rc" != 0 ]; then
        exit "$rc"
    fi
else
    say "hubpush push $EXAMPLE"
    hubpush push "$EXAMPLE"
fi

say "What the registry holds"
hubpush show "$NAME"

say "docker pull $IMAGE   (after removing it from the local engine)"
docker rmi -f "$IMAGE" >/dev/null
docker pull "$IMAGE"

say "docker run $IMAGE --port 8080"
docker rm -f hubpush-hello >/dev/null 2>&1 || true
docker run -d --name hubpush-hello "$IMAGE" --port 8080 >/dev/null
trap 'docker rm -f hubpush-hello >/dev/null 2>&1 || true' EXIT
for _ in $(seq 120); do
    docker exec hubpush-hello jina ping executor localhost:8080 --attempts 1 >/dev/null 2>&1 && break
    sleep 1
done
docker exec hubpush-hello jina ping executor localhost:8080 --attempts 1 >/dev/null

say "A request to the running executor"
docker exec hubpush-hello python3 -c '
from jina import Client
from docarray import DocList
from docarray.documents import TextDoc
docs = Client(host="localhost", port=8080).post("/", inputs=DocList[TextDoc]([TextDoc(text="world")]), return_type=DocList[TextDoc])
print("executor answered:", docs[0].text)'

say "Done. The hub keeps running at $REGISTRY; stop it with: docker rm -f hubpush-registry"
