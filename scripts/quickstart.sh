#!/usr/bin/env bash
# The main job on a bare Debian 12 machine (as root): bring up a local hub (`hubpush hub up`: the
# gateway on localhost:5000, or localhost:$HUBPUSH_QUICKSTART_PORT, in front of a registry:2 that
# only it can reach), publish the example executor as a private executor, show that an anonymous
# `docker pull` is refused, pull it with its secret, run it and send it a request; publish a public
# example too, and end with the address of the Hub portal that lists them.
# Safe to run again: a second run updates the executor with the secret cached by the first.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${HUBPUSH_QUICKSTART_PORT:-5000}"
HUB="localhost:$PORT"
EXAMPLE=examples/hello-executor
NAME=HelloExecutor
IMAGE="$HUB/hello-executor:latest"
if [ -t 2 ]; then say() { printf '\n\033[1;36m==> %s\033[0m\n' "$*" >&2; }; else say() { printf '\n==> %s\n' "$*" >&2; }; fi

bash scripts/bootstrap.sh
bash scripts/python-env.sh
export PATH="$PWD/.venv/bin:$PATH" HUBPUSH_REGISTRY="$HUB"

# earlier versions of this script ran a bare registry:2 on the same port; its data stays in its volume
if docker inspect hubpush-registry >/dev/null 2>&1; then
    say "Removing the bare registry container of an earlier quickstart (volume hubpush-registry-data is kept)"
    docker rm -f hubpush-registry >/dev/null
fi

say "hubpush hub up --port $PORT   (gateway on $HUB, registry:2 on a private Docker network)"
hubpush hub up --port "$PORT"

if hubpush show "$NAME" >/dev/null 2>&1; then
    say "hubpush push --force-update $NAME --private $EXAMPLE   (already published: the cached secret is used)"
    args=(--force-update "$NAME" --private "$EXAMPLE")
else
    say "hubpush push --private $EXAMPLE"
    args=(--private "$EXAMPLE")
fi
rc=0
hubpush push "${args[@]}" || rc=$?
if [ "$rc" = 21 ] || [ "$rc" = 22 ] || [ "$rc" = 23 ]; then
    echo "$NAME in this hub was published by another user or machine, whose secret is not here." >&2
    echo "Set HUBPUSH_SECRET to it, or start a fresh hub: hubpush hub down --remove-data" >&2
    exit "$rc"
elif [ "$rc" != 0 ]; then
    exit "$rc"
fi

say "What the hub holds"
hubpush show "$NAME"

docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
say "docker pull $IMAGE   (anonymous: a private executor must be refused)"
anonymous="$(mktemp -d)"
if DOCKER_CONFIG="$anonymous" docker pull "$IMAGE"; then
    rm -rf "$anonymous"
    echo "the hub served a private executor to an anonymous client; this must not happen" >&2
    exit 1
fi
rm -rf "$anonymous"

say "hubpush pull $NAME   (the secret cached on this machine, for this pull only: no docker login)"
hubpush pull "$NAME"

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

PUBLIC_EXAMPLE=examples/custom-dockerfile-executor
PUBLIC_NAME=ShoutExecutor
if hubpush show "$PUBLIC_NAME" >/dev/null 2>&1; then
    say "hubpush push --force-update $PUBLIC_NAME $PUBLIC_EXAMPLE   (a public executor, for the portal's Recent tab)"
    hubpush push --force-update "$PUBLIC_NAME" "$PUBLIC_EXAMPLE" || echo "(not updated: $PUBLIC_NAME here belongs to another secret)" >&2
else
    say "hubpush push $PUBLIC_EXAMPLE   (a public executor, for the portal's Recent tab)"
    hubpush push "$PUBLIC_EXAMPLE"
fi

if docker image inspect jinaai/jina:latest >/dev/null 2>&1; then
    say "Jina's own client against the hub: jina hub pull jinahub+docker://$PUBLIC_NAME/latest   (JINA_HUBBLE_REGISTRY=http://$HUB/jina)"
    docker run --rm --network host -v /var/run/docker.sock:/var/run/docker.sock -e "JINA_HUBBLE_REGISTRY=http://$HUB/jina" \
        -e JINA_HUBBLE_HIDE_EXECUTOR_PUSH_SUCCESS_MSG=1 --entrypoint jina jinaai/jina:latest hub pull "jinahub+docker://$PUBLIC_NAME/latest" \
        | tail -n 3
fi

say "The Hub portal"
curl -fsS "http://$HUB/" | grep -q "$PUBLIC_NAME" || { echo "the portal at http://$HUB/ does not list $PUBLIC_NAME" >&2; exit 1; }
hubpush list --recent
echo "Open http://$HUB/ and click the Recent tab to see the published executors." >&2
echo "$NAME is private: it is listed only for its owner; unlock its page at http://$HUB/executors/hello-executor with its NAME and SECRET." >&2

say "Done. The hub keeps running at $HUB (hubpush hub status); stop it with: hubpush hub down"
echo "Portal: http://$HUB/"
