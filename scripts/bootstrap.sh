#!/usr/bin/env bash
# scripts/bootstrap.sh - make a bare Debian 12 machine (run as root) ready for
# hubpush's integration tests. Idempotent: a second run only checks and exits.
#
# Ensures:
#   1. a Docker engine answers `docker info` (installs Debian's docker.io and
#      starts dockerd in the background if none answers);
#   2. an image tagged registry:2 (pulled, or built locally from Debian's
#      docker-registry package - the same Distribution 2.8 code);
#   3. hubpush/busybox:latest (busybox-static in a FROM scratch image);
#   4. jinaai/jina:latest (+ hubpush/jina:local): pulled, or a local stand-in
#      built from a debootstrap'ed Debian bookworm (Python 3.11) + pip jina;
#   5. Debian's chromium (headless, for the portal's browser tests, driven by
#      Playwright at /usr/bin/chromium) and the fonts its pages are drawn with
#      (fonts-liberation, fonts-dejavu-core): the portal loads no web fonts.
#
# Environment:
#   HUBPUSH_BOOTSTRAP_SKIP_JINA=1   skip step 4
#   HUBPUSH_JINA_VERSION=X.Y.Z      jina pin for the stand-in (default below)
#   HUBPUSH_CACHE_DIR=DIR           cache for debs / rootfs (/var/cache/hubpush)
#   HUBPUSH_DEBIAN_MIRROR=URL       Debian mirror for debootstrap (http://deb.debian.org/debian)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL  PyPI mirror for `pip install jina` in the stand-in build
#   HUBPUSH_BOOTSTRAP_LOG=FILE      where noisy output goes (/var/log/hubpush-bootstrap.log)
#   DOCKER_HOST                     if set and answering, used as is
#
# Progress lines ("==> ...") go to stderr; noisy tool output goes to the log.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export DEBIAN_FRONTEND=noninteractive
# The classic builder is what docker-py uses; the 28.x client has no buildx
# plugin here anyway. Be explicit so the client never tries BuildKit.
export DOCKER_BUILDKIT=0

JINA_VERSION="${HUBPUSH_JINA_VERSION:-3.34.0}"
CACHE_DIR="${HUBPUSH_CACHE_DIR:-/var/cache/hubpush}"
LOG="${HUBPUSH_BOOTSTRAP_LOG:-/var/log/hubpush-bootstrap.log}"
DOCKERD_LOG=/var/log/hubpush-dockerd.log
DEBIAN_MIRROR="${HUBPUSH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PULL_TIMEOUT=20

REGISTRY_IMAGE=registry:2
BUSYBOX_IMAGE=hubpush/busybox:latest
DEBIAN_PY_IMAGE=hubpush/debian-python:bookworm
JINA_IMAGE=jinaai/jina:latest
JINA_LOCAL_TAG=hubpush/jina:local
PROBE_PREFIX=hubpush-bootstrap-probe

T0=$(date +%s%N)
JINA_READY="?"
SUMMARY=()
WORK=""
CLEANUP_CONTAINERS=()
CLEANUP_IMAGES=()
POLICY_RC_CREATED=0

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}
# seconds since $1 (a `date +%s%N` stamp), one decimal
since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

cleanup() {
    local rc=$? c i
    if ((${#CLEANUP_CONTAINERS[@]})); then
        for c in "${CLEANUP_CONTAINERS[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1 || true; done
    fi
    if ((${#CLEANUP_IMAGES[@]})); then
        for i in "${CLEANUP_IMAGES[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
    fi
    if [[ $POLICY_RC_CREATED == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
    if [[ -n $WORK && -d $WORK ]]; then rm -rf "$WORK"; fi
    if [[ $rc != 0 ]]; then
        printf '==> bootstrap FAILED after %ss (details: %s)\n' "$(since "$T0")" "$LOG" >&2
    fi
}
trap cleanup EXIT

# Run a noisy command with its output in $LOG; on failure show the tail.
run() {
    printf '\n$ %s\n' "$*" >>"$LOG"
    local rc=0
    "$@" >>"$LOG" 2>&1 || rc=$?
    if [[ $rc != 0 ]]; then
        printf '==> command failed (exit %s): %s\n' "$rc" "$*" >&2
        printf '==> last lines of %s:\n' "$LOG" >&2
        tail -n 30 "$LOG" | sed 's/^/    /' >&2
    fi
    return "$rc"
}

# Same, but silent on failure (polling, expected failures).
run_quiet() {
    printf '\n$ %s\n' "$*" >>"$LOG"
    "$@" >>"$LOG" 2>&1
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

workdir() { mktemp -d "$WORK/$1.XXXX"; } # WORK is created in main

try_pull() { # quick attempt: there is usually no Docker Hub here
    log "trying: docker pull $1 (timeout ${PULL_TIMEOUT}s)"
    if run_quiet timeout "$PULL_TIMEOUT" docker pull "$1"; then
        return 0
    fi
    log "pull of $1 failed (expected without Docker Hub); building a local stand-in"
    return 1
}

# ---------------------------------------------------------------- apt helpers
APT_UPDATED=0
apt_update() {
    [[ $APT_UPDATED == 1 ]] && return 0
    log "apt-get update"
    run apt-get update -q || warn "apt-get update reported errors; continuing with the lists there are"
    APT_UPDATED=1
}
pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]; }
has_candidate() {
    local c
    c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    [[ -n $c && $c != "(none)" ]]
}
ensure_lists_for() { # apt-get update only if some package has no candidate
    local p
    for p; do
        if ! has_candidate "$p"; then
            apt_update
            return 0
        fi
    done
}
apt_install() {
    local missing=() p
    for p; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    ensure_lists_for "${missing[@]}"
    # Never let a package's postinst start a service (docker.io would start its
    # own dockerd, docker-registry a host registry on :5000): we start what we
    # need ourselves. Debian's container images ship this file; bare hosts don't.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# temporary, from hubpush scripts/bootstrap.sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    log "apt-get install -y ${missing[*]}"
    local ok=0
    run apt-get install -y -q "${missing[@]}" && ok=1
    if [[ $ok == 0 && $APT_UPDATED == 0 ]]; then # stale lists (404s): refresh once
        apt_update
        run apt-get install -y -q "${missing[@]}" && ok=1
    fi
    if [[ $POLICY_RC_CREATED == 1 ]]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=0
    fi
    [[ $ok == 1 ]] || die "apt-get install ${missing[*]} failed (see $LOG)"
}
# Fetch and unpack a .deb without installing it; prints the unpack dir.
deb_extract() {
    local pkg=$1 dir="$CACHE_DIR/debs"
    mkdir -p "$dir"
    if [[ ! -d "$dir/$pkg.root" ]]; then
        ensure_lists_for "$pkg"
        rm -f "$dir/${pkg}"_*.deb
        (cd "$dir" && run apt-get download -q "$pkg") ||
            { apt_update && (cd "$dir" && run apt-get download -q "$pkg"); } ||
            die "apt-get download $pkg failed (see $LOG)"
        rm -rf "$dir/$pkg.root.tmp"
        dpkg-deb -x "$dir/${pkg}"_*.deb "$dir/$pkg.root.tmp"
        mv "$dir/$pkg.root.tmp" "$dir/$pkg.root"
    fi
    printf '%s\n' "$dir/$pkg.root"
}

# ------------------------------------------------------------ 1. docker engine
docker_ok() { timeout 15 docker info >/dev/null 2>&1; }

ensure_docker() {
    local t how
    t=$(date +%s%N)
    if docker_ok; then
        how="already running"
    else
        local host=${DOCKER_HOST:-}
        if [[ -n $host && $host != unix:///var/run/docker.sock && $host != unix:///run/docker.sock ]]; then
            die "DOCKER_HOST=$host is set but 'docker info' gets no answer; fix it, or unset DOCKER_HOST to let bootstrap start a local dockerd"
        fi
        if ! command -v dockerd >/dev/null 2>&1; then
            apt_install docker.io
            how="installed docker.io + started dockerd"
        else
            how="started dockerd"
        fi
        if pgrep -x dockerd >/dev/null 2>&1; then
            log "dockerd is running but not answering yet; waiting for it"
            how="waited for running dockerd"
        else
            log "starting dockerd in the background (log: $DOCKERD_LOG)"
            (cd / && exec setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null) &
            disown || true
        fi
        local i
        for ((i = 0; i < 60; i++)); do
            docker_ok && break
            sleep 1
        done
        if ! docker_ok; then
            tail -n 15 "$DOCKERD_LOG" 2>/dev/null | sed 's/^/    /' >&2 || true
            die "dockerd did not answer 'docker info' within 60s; see $DOCKERD_LOG"
        fi
    fi
    # The preinstalled 28.x client negotiates the API version down to the
    # engine's (Debian's 20.10 speaks 1.41). Only pin it if negotiation fails.
    # (Checked: client 28.2 + engine 20.10 negotiate 1.41 by themselves.)
    local sv out
    if ! out=$(docker version --format '{{.Server.APIVersion}}' 2>&1) || [[ -z $out ]]; then
        sv=$(grep -o 'Maximum supported API version is [0-9.]*' <<<"$out" | awk '{ print $NF }' || true)
        [[ -n $sv ]] || die "docker client cannot talk to the engine: $out"
        export DOCKER_API_VERSION=$sv
        docker version >/dev/null 2>&1 || die "docker client fails even with DOCKER_API_VERSION=$sv"
        warn "pinned DOCKER_API_VERSION=$sv for this script; export it in your shell too"
    else
        sv=$out
    fi
    local ev
    ev=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
    log "docker: engine $ev (API $sv), client $(docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?'): $how [$(since "$t")s]"
    SUMMARY+=("docker=$how ($(since "$t")s)")
}

# ------------------------------------------------------------- 2. registry:2
REGISTRY_CONFIG='version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
'

build_registry_image() {
    apt_install docker-registry
    local bin=/usr/bin/docker-registry ctx lib ver
    [[ -x $bin ]] || die "$bin missing after installing docker-registry"
    ver=$(dpkg-query -W -f='${Version}' docker-registry)
    ctx=$(workdir registry)
    mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/docker/registry" "$ctx/rootfs/etc/ssl/certs" \
        "$ctx/rootfs/var/lib/registry" "$ctx/rootfs/tmp"
    chmod 1777 "$ctx/rootfs/tmp"
    cp "$bin" "$ctx/rootfs/bin/registry"
    # the binary plus exactly the shared libraries it links (libc + loader)
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
        mkdir -p "$ctx/rootfs$(dirname "$lib")"
        cp -L "$lib" "$ctx/rootfs$lib"
    done
    printf '%s' "$REGISTRY_CONFIG" >"$ctx/rootfs/etc/docker/registry/config.yml"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/rootfs/etc/group"
    printf 'hosts: files dns\n' >"$ctx/rootfs/etc/nsswitch.conf"
    # like the official image (alpine + ca-certificates): CA roots for proxy mode
    if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
        cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
    fi
    cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
LABEL org.opencontainers.image.title="registry:2 (local stand-in)" \\
      org.opencontainers.image.description="Debian docker-registry $ver (Distribution 2.8) built by hubpush scripts/bootstrap.sh because Docker Hub is unreachable" \\
      io.hubpush.stand-in="true"
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
EOF
    log "building $REGISTRY_IMAGE from Debian docker-registry $ver (FROM scratch + binary + libc)"
    run docker build --no-cache -t "$REGISTRY_IMAGE" "$ctx" || die "docker build of $REGISTRY_IMAGE failed (see $LOG)"
}

verify_registry_image() {
    local ctx cid port i tag
    log "verifying $REGISTRY_IMAGE: run, GET /v2/, push a tiny image"
    cid=$(docker run -d -p 127.0.0.1::5000 "$REGISTRY_IMAGE") || die "docker run $REGISTRY_IMAGE failed"
    CLEANUP_CONTAINERS+=("$cid")
    port=$(docker port "$cid" 5000/tcp | head -n 1 | sed 's/.*://')
    [[ -n $port ]] || die "no published port for the registry test container"
    for ((i = 0; i < 30; i++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null) == 200 ]] && break
        sleep 0.5
    done
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/") == 200 ]] ||
        die "$REGISTRY_IMAGE test container does not answer 200 on /v2/ (docker logs $cid)"
    ctx=$(workdir regprobe)
    echo "hubpush bootstrap probe" >"$ctx/probe.txt"
    printf 'FROM scratch\nCOPY probe.txt /probe.txt\n' >"$ctx/Dockerfile"
    tag="localhost:$port/$PROBE_PREFIX:t"
    CLEANUP_IMAGES+=("$tag")
    run docker build -q -t "$tag" "$ctx" || die "building the tiny probe image failed"
    run docker push "$tag" || die "docker push $tag to the $REGISTRY_IMAGE test container failed"
    curl -fsS "http://127.0.0.1:$port/v2/$PROBE_PREFIX/tags/list" | grep -q '"t"' ||
        die "pushed tag not listed by the test registry"
    docker rm -f -v "$cid" >/dev/null
    docker rmi "$tag" >/dev/null 2>&1 || true
    log "$REGISTRY_IMAGE works: /v2/ -> 200, push to localhost:$port ok"
}

ensure_registry() {
    local t how
    t=$(date +%s%N)
    if image_exists "$REGISTRY_IMAGE"; then
        how="present"
    elif try_pull "$REGISTRY_IMAGE"; then
        how="pulled"
    else
        build_registry_image
        verify_registry_image
        how="built+verified"
    fi
    log "$REGISTRY_IMAGE: $how [$(since "$t")s]"
    SUMMARY+=("$REGISTRY_IMAGE=$how ($(since "$t")s)")
}

# ------------------------------------------------------ 3. hubpush/busybox
ensure_busybox() {
    local t how
    t=$(date +%s%N)
    if image_exists "$BUSYBOX_IMAGE"; then
        how="present"
    else
        local root ctx ver
        # unpack the .deb rather than install it: busybox-static conflicts
        # with the busybox package a host may need
        root=$(deb_extract busybox-static)
        [[ -x $root/bin/busybox ]] || die "no bin/busybox in the busybox-static package"
        ver=$("$root/bin/busybox" 2>/dev/null | head -n 1 | awk '{ print $2 }' || true)
        ctx=$(workdir busybox)
        cp "$root/bin/busybox" "$ctx/busybox"
        cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /etc /root /tmp /var/tmp /usr/bin && chmod 1777 /tmp /var/tmp && ln -s /bin/env /usr/bin/env && printf 'root:x:0:0:root:/root:/bin/sh\\\\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\\\\n' > /etc/passwd && printf 'root:x:0:\\\\nnogroup:x:65534:\\\\n' > /etc/group"]
ENV PATH=/bin
LABEL org.opencontainers.image.description="busybox-static $ver from Debian, built by hubpush scripts/bootstrap.sh" \\
      io.hubpush.stand-in="true"
CMD ["sh"]
EOF
        log "building $BUSYBOX_IMAGE from Debian busybox-static $ver"
        run docker build --no-cache -t "$BUSYBOX_IMAGE" "$ctx" || die "docker build of $BUSYBOX_IMAGE failed (see $LOG)"
        local out
        out=$(docker run --rm "$BUSYBOX_IMAGE" sh -c 'echo ok') || true
        [[ $out == ok ]] || die "$BUSYBOX_IMAGE does not run 'sh -c \"echo ok\"' (got: $out)"
        how="built+verified"
    fi
    log "$BUSYBOX_IMAGE: $how [$(since "$t")s]"
    SUMMARY+=("$BUSYBOX_IMAGE=$how ($(since "$t")s)")
}

# -------------------------------------------------------- 4. jinaai/jina
ensure_debian_python_image() {
    image_exists "$DEBIAN_PY_IMAGE" && return 0
    local rootfs="$CACHE_DIR/rootfs-bookworm-python" t
    if [[ ! -f $rootfs.complete || ! -x $rootfs/usr/bin/python3 ]]; then
        apt_install debootstrap
        rm -rf "$rootfs" "$rootfs.tmp" "$rootfs.complete"
        mkdir -p "$CACHE_DIR"
        t=$(date +%s%N)
        log "debootstrap --variant=minbase bookworm (python3, pip, venv) into $rootfs"
        run debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
            bookworm "$rootfs.tmp" "$DEBIAN_MIRROR" || die "debootstrap failed (see $LOG)"
        # like Debian's official images: no downloaded lists/debs in the image
        rm -rf "$rootfs.tmp"/var/lib/apt/lists/* "$rootfs.tmp"/var/cache/apt/archives/*.deb \
            "$rootfs.tmp"/var/cache/apt/*.bin "$rootfs.tmp"/var/log/*.log
        mkdir -p "$rootfs.tmp/var/lib/apt/lists/partial"
        mv "$rootfs.tmp" "$rootfs"
        touch "$rootfs.complete"
        log "rootfs ready ($(du -sh "$rootfs" | cut -f1)) [$(since "$t")s]"
    else
        log "reusing cached rootfs $rootfs"
    fi
    t=$(date +%s%N)
    log "docker import $rootfs -> $DEBIAN_PY_IMAGE"
    tar -C "$rootfs" -c . | docker import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["bash"]' - "$DEBIAN_PY_IMAGE" >>"$LOG" 2>&1 || die "docker import failed (see $LOG)"
    log "imported $DEBIAN_PY_IMAGE [$(since "$t")s]"
}

build_jina_image() {
    ensure_debian_python_image
    local ctx
    ctx=$(workdir jina)
    [[ -r /etc/ssl/certs/ca-certificates.crt ]] || die "host CA bundle /etc/ssl/certs/ca-certificates.crt missing"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/hubpush-host-ca.crt"
    cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_PY_IMAGE
LABEL org.opencontainers.image.title="jinaai/jina (local stand-in)" \\
      org.opencontainers.image.description="Local stand-in for jinaai/jina:latest built by hubpush scripts/bootstrap.sh: Debian bookworm, Python 3.11, jina==$JINA_VERSION" \\
      io.hubpush.stand-in="true" \\
      io.hubpush.jina-version="$JINA_VERSION"
# Containers reach PyPI only through a TLS-intercepting proxy: trust the host's CA bundle.
COPY hubpush-host-ca.crt /etc/ssl/certs/hubpush-host-ca.crt
ENV PIP_CERT=/etc/ssl/certs/hubpush-host-ca.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/hubpush-host-ca.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/hubpush-host-ca.crt \\
    PIP_BREAK_SYSTEM_PACKAGES=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1
$([[ ${PIP_INDEX_URL:-} == http* ]] && echo "ARG PIP_INDEX_URL")
$([[ ${PIP_EXTRA_INDEX_URL:-} == http* ]] && echo "ARG PIP_EXTRA_INDEX_URL")
RUN pip install --default-timeout=180 "jina==$JINA_VERSION" && jina -v
WORKDIR /workdir
EOF
    local t
    t=$(date +%s%N)
    log "building $JINA_IMAGE stand-in: pip install jina==$JINA_VERSION (about a minute)"
    local build_args=()
    # only network mirrors: a host's file:// index does not exist inside the build container
    [[ ${PIP_INDEX_URL:-} == http* ]] && build_args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
    [[ ${PIP_EXTRA_INDEX_URL:-} == http* ]] && build_args+=(--build-arg "PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL")
    run docker build --no-cache "${build_args[@]}" -t "$JINA_IMAGE" -t "$JINA_LOCAL_TAG" "$ctx" ||
        die "docker build of the jina stand-in failed (see $LOG)"
    log "built $JINA_IMAGE + $JINA_LOCAL_TAG [$(since "$t")s]"
}

verify_jina_image() {
    local v ctx img cid i t ready=0
    v=$(docker run --rm "$JINA_IMAGE" jina -v 2>/dev/null | tail -n 1) || die "'docker run $JINA_IMAGE jina -v' failed"
    [[ -n $v ]] || die "'jina -v' printed nothing"
    log "jina -v in $JINA_IMAGE: $v"
    ctx=$(workdir jinaexec)
    cat >"$ctx/config.yml" <<'EOF'
jtype: MyExec
py_modules:
  - executor.py
metas:
  name: MyExec
EOF
    cat >"$ctx/executor.py" <<'EOF'
from jina import Executor, requests


class MyExec(Executor):
    @requests
    def foo(self, docs, **kwargs):
        pass
EOF
    cat >"$ctx/Dockerfile" <<EOF
FROM $JINA_IMAGE
COPY . /workdir/
WORKDIR /workdir
ENTRYPOINT ["jina", "executor", "--uses", "config.yml"]
EOF
    img="$PROBE_PREFIX-exec:latest"
    CLEANUP_IMAGES+=("$img")
    run docker build -q -t "$img" "$ctx" || die "building a Jina executor image FROM $JINA_IMAGE failed"
    t=$(date +%s%N)
    cid=$(docker run -d "$img" --port 8080) || die "docker run of the executor image failed"
    CLEANUP_CONTAINERS+=("$cid")
    for ((i = 0; i < 40; i++)); do
        if run_quiet docker exec "$cid" jina ping executor localhost:8080 --timeout 2000 --attempts 1; then
            ready=1
            break
        fi
        [[ $(docker inspect -f '{{.State.Running}}' "$cid" 2>/dev/null) == true ]] || break
        sleep 1
    done
    if [[ $ready != 1 ]]; then
        docker logs "$cid" >>"$LOG" 2>&1 || true
        die "the test executor did not become ready (jina ping executor localhost:8080); logs in $LOG"
    fi
    JINA_READY="$(since "$t")s"
    log "executor built FROM $JINA_IMAGE serves: 'jina ping executor localhost:8080' ok $JINA_READY after docker run"
    docker rm -f -v "$cid" >/dev/null
    docker rmi "$img" >/dev/null 2>&1 || true
}

ensure_jina() {
    local t how
    t=$(date +%s%N)
    if [[ ${HUBPUSH_BOOTSTRAP_SKIP_JINA:-0} == 1 ]]; then
        log "$JINA_IMAGE: skipped (HUBPUSH_BOOTSTRAP_SKIP_JINA=1)"
        SUMMARY+=("$JINA_IMAGE=skipped")
        return 0
    fi
    if image_exists "$JINA_IMAGE"; then
        how="present"
    elif try_pull "$JINA_IMAGE"; then
        how="pulled"
    else
        build_jina_image
        verify_jina_image
        how="built+verified (jina==$JINA_VERSION, executor ready in $JINA_READY)"
    fi
    image_exists "$JINA_LOCAL_TAG" || docker tag "$JINA_IMAGE" "$JINA_LOCAL_TAG"
    log "$JINA_IMAGE: $how [$(since "$t")s]"
    SUMMARY+=("$JINA_IMAGE=$how ($(since "$t")s)")
}

# ------------------------------------------------------------- 5. chromium
# Playwright drives this binary with executable_path; `playwright install` would
# download a browser, which fails air-gapped. The fonts are chromium-common's
# Recommends (fonts-liberation) and fontconfig's default (fonts-dejavu-core),
# named so they come even where apt skips Recommends.
CHROMIUM_PACKAGES=(chromium fonts-liberation fonts-dejavu-core)

ensure_chromium() {
    local t how p missing=0 ver
    t=$(date +%s%N)
    for p in "${CHROMIUM_PACKAGES[@]}"; do pkg_installed "$p" || missing=1; done
    if [[ $missing == 0 ]]; then
        how="present"
    else
        apt_install "${CHROMIUM_PACKAGES[@]}"
        how="installed"
    fi
    [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium missing after installing chromium"
    ver=$(dpkg-query -W -f='${Version}' chromium)
    log "chromium $ver (/usr/bin/chromium): $how [$(since "$t")s]"
    SUMMARY+=("chromium=$how ($(since "$t")s)")
}

# ------------------------------------------------------------------- main
main() {
    [[ $(id -u) == 0 ]] || die "run as root (apt-get, dockerd)"
    mkdir -p "$(dirname "$LOG")" "$CACHE_DIR"
    WORK=$(mktemp -d /tmp/hubpush-bootstrap.XXXXXX)
    printf '\n===== hubpush bootstrap %s =====\n' "$(date -Is)" >>"$LOG"
    ensure_docker
    ensure_registry
    ensure_busybox
    ensure_jina
    ensure_chromium
    local IFS=';'
    printf '==> bootstrap done in %ss: %s\n' "$(since "$T0")" "${SUMMARY[*]}" | sed 's/;/; /g' >&2
}

main "$@"
