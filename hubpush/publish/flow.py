"""The push flow: one order of steps for every front door and every backend.

1. the plan: everything local is checked (:func:`~hubpush.publish.plan.plan_push`);
2. check: the backend applies the rules -- secret, NAME taken, protected tags; every
   refusal happens here, before any build starts and before anything is written;
3. build the image (the engine is only asked for once the push is allowed);
4. record the metadata *intent* (owner, visibility, protected tags) -- so no tag is ever
   pushed before its protection is recorded, and no executor image ever exists without
   metadata; a new NAME's secret is cached locally first, so a push that fails half-way
   can be resumed;
5. push the first tag through the engine (layers uploaded once), point the other tags at
   the same manifest through the registry API (no layer traffic at all);
6. finish: record each tag's digest and push time (a hub gateway does this itself).

If step 5 or 6 fails, the backend puts the metadata back when no tag moved, and the error
says where things stand.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.secrets import generate_secret
from ..engine import BuildRequest
from ..errors import HubpushError, PushFailedError
from ..executor.context import BuildContext, content_timestamp
from ..executor.template import image_labels
from ..secret_store import SecretStore
from .plan import PushPlan, PushResult
from .ports import Engine, PushBackend, Reporter, TagDestination, Verdict


#: the sentence that tells how to finish a first publish that failed half-way: (NAME, SECRET, secret cache) -> text
ResumeHint = Callable[[str, str, str], str]


def cli_resume_hint(name: str, secret: str, cache: str) -> str:
    """``hubpush push`` keeps the secret in the local cache: retrying on this machine is enough."""
    return f"retry with 'hubpush push --force-update {name} PATH' on this machine (its secret is cached in {cache})."


class PushFlow:
    """Runs one push against one backend; every collaborator is handed in."""

    def __init__(
        self,
        backend: PushBackend,
        engine: Callable[[], Engine],
        secrets: SecretStore,
        reporter: Reporter,
        *,
        resume_hint: ResumeHint = cli_resume_hint,
    ) -> None:
        self.backend = backend
        #: connects to the engine; called once the push is allowed, so a refusal never needs Docker
        self.connect_engine = engine
        self.secrets = secrets
        self.reporter = reporter
        self.resume_hint = resume_hint

    @property
    def location(self) -> str:
        """``host:port[/namespace]`` of the registry the push goes to: what image references start with."""
        return self.backend.registry.location

    def run(self, plan: PushPlan) -> PushResult:
        """Steps 2 to 6 of the module docstring for ``plan``."""
        new_secret = None if plan.is_update else generate_secret()
        secret = new_secret or plan.request.secret or (self.secrets.get(self.location, plan.repository) if plan.is_update else None)
        verdict = self.backend.check(plan, secret)
        if verdict.name != plan.name:
            plan.warnings.append(
                f"{plan.name!r} is executor {verdict.name!r} (repository {plan.repository}); updating it under that name."
            )
        engine = self.connect_engine()
        image = f"{self.location}/{plan.repository}"
        self.reporter.step(f"Building {image}:{verdict.decision.tags[0]} from {plan.folder.path}")
        self._build(engine, plan, verdict, image)
        assert secret is not None  # an update without one was refused by the check
        self._record_intent(plan, verdict, secret, new_secret)
        pushed: list[str] = []
        try:
            digest = push_tags(engine, self.backend.destination(plan, verdict, secret), verdict.decision.tags, self.reporter, pushed)
            self.backend.finish(plan, verdict, digest)
        except HubpushError as exc:
            raise self._undo(exc, plan, verdict, secret, pushed) from None
        return self._result(plan, verdict, digest, secret, new_secret)

    def _build(self, engine: Engine, plan: PushPlan, verdict: Verdict, image: str) -> None:
        """Build once, tag the image locally under every tag of the push."""
        tags = verdict.decision.tags
        # the secret cache never enters a build context, even when someone keeps it inside the folder;
        # the file is named too, for HUBPUSH_CONFIG_DIR set to the executor folder itself
        never_sent = [self.secrets.path.parent, self.secrets.path]
        context = BuildContext(plan.folder, plan.rendered_dockerfile, never_sent)
        labels = image_labels(plan.folder, verdict.name, plan.repository, content_timestamp(plan.folder.path, context.files))
        in_dockerfile = context.embed_labels(labels)
        with context:
            request = BuildRequest(
                context=context.chunks(),
                dockerfile=context.dockerfile,
                tag=f"{image}:{tags[0]}",
                labels=labels,
                buildargs=plan.build.build_env,
                nocache=plan.build.no_cache,
                platform=plan.build.platform,
                labels_in_dockerfile=in_dockerfile,
            )
            image_id = engine.build(request, on_log=self.reporter.log)
        for tag in tags[1:]:
            engine.tag(image_id, image, tag)

    def _record_intent(self, plan: PushPlan, verdict: Verdict, secret: str, new_secret: str | None) -> None:
        if new_secret is not None:
            # cached before anything is written, so a push that fails half-way can be resumed
            self.secrets.put(self.location, plan.repository, new_secret)
        elif plan.request.secret and plan.remember_secret:  # verified by the check: remember it on this machine too
            self.secrets.put(self.location, plan.repository, plan.request.secret)
        self.reporter.step("Recording metadata")
        try:
            self.backend.record_intent(plan, verdict, secret)
        except HubpushError:
            if new_secret is not None and self.backend.intent_is_atomic:
                self.secrets.forget(self.location, plan.repository)  # someone else won the NAME: this secret guards nothing
            raise

    def _undo(self, failure: HubpushError, plan: PushPlan, verdict: Verdict, secret: str, pushed: list[str]) -> HubpushError:
        """The error to raise for a push that failed after its intent was recorded, ending with
        where things stand: metadata put back (a first publish's secret then guards nothing and
        is forgotten), or the NAME kept reserved for this machine."""
        undo = self.backend.undo(failure, plan, verdict, secret, pushed)
        if undo.error is not None:
            return undo.error
        if not undo.explain:
            return failure
        first_publish = verdict.decision.is_first_publish
        if undo.why_not:
            failure.message += f" Undoing the recorded intent failed too: {undo.why_not}"
        if undo.restored:
            if first_publish:
                self.secrets.forget(self.location, plan.repository)
            failure.message += f" No tag was pushed and the {self.backend.whose} metadata is back as it was."
        elif first_publish:
            failure.message += f" The name {verdict.name!r} is reserved for you: " + self.resume_hint(verdict.name, secret, str(self.secrets.path))
        else:
            failure.message += (
                f" This push's intent stays recorded in the {self.backend.whose} metadata (protected tags "
                f"{', '.join(verdict.decision.protected_tags) or 'none'}): run the same push again once the registry answers; "
                "'hubpush hub check' shows what is left, '--repair' settles it."
            )
        failure.args = (failure.message,)
        return failure

    def _result(self, plan: PushPlan, verdict: Verdict, digest: str, secret: str, new_secret: str | None) -> PushResult:
        outcome = self.backend.outcome(plan, verdict, secret)
        tags = verdict.decision.tags
        image = f"{self.location}/{plan.repository}"
        return PushResult(
            name=verdict.name,
            repository=plan.repository,
            registry=self.location,
            visibility=outcome.visibility,
            tags=tags,
            protected_tags=outcome.protected_tags,
            digest=digest,
            image_references=[f"{image}:{tag}" for tag in tags],
            first_publish=verdict.decision.is_first_publish,
            secret=new_secret,
            secret_cache=str(self.secrets.path) if new_secret else None,
            warnings=[*plan.warnings, *outcome.warnings],
            registry_host=self.backend.registry.host,
            username=self.backend.registry.qualified(verdict.name),
            portal_url=outcome.portal_url,
        )


def push_tags(engine: Engine, destination: TagDestination, tags: list[str], reporter: Reporter, pushed: list[str]) -> str:
    """Push ``tags`` so that all point at one manifest; return its digest. ``pushed`` collects
    the tags that landed, so a failure half-way can tell which ones were ours."""
    first, *others = tags
    image, repository = destination.image, destination.repository
    reporter.step(f"Pushing {image}:{first}")
    digest = engine.push(image, first, on_log=reporter.log, credentials=destination.credentials, on_wait=reporter.step)
    pushed.append(first)
    if not others:
        return digest
    manifest = destination.registry.get_manifest(repository, first)
    if manifest is None or manifest.digest != digest:
        raise PushFailedError(
            f"The registry does not hold {image}:{first} at {digest} right after the push; "
            "another client may be pushing the same tag, retry."
        )
    for tag in others:
        reporter.step(f"Tagging {image}:{tag}")
        destination.registry.put_manifest(repository, tag, manifest.raw, manifest.media_type)
        pushed.append(tag)
    return digest

