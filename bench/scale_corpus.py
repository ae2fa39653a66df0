"""A developer's memories over a year and several hundred projects, made up but shaped like
real ones (bench/coding/memories.jsonl is the model): what was decided, how a thing is run, who
owns what, which error meant what. Deterministic for a seed, so a cached store and the queries
asked of it agree.

Shape: lengths log-normal (median ~145 characters, bench/coding's 105; 50 to 1,400, the
store's limit), one to four sentences from templates whose slots draw, with Zipf weights,
from a technical vocabulary (real tool names, everyday engineering words) and from each
project's own identifiers (functions, modules, tables, environment variables, tickets); tags
and keyword lists as agents write them; three sources, five categories; timestamps over 365
days, denser on weekdays and in bursts (a project is busy for a few weeks, then quiet); ~1%
hold a credential-like string (sealed as sensitive by the store's own rule), ~2% replace an
older memory of their project.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

DAY_MS = 86_400_000


def _words(text: str) -> list[str]:
    return text.split()


YEAR_START_MS = 1_735_689_600_000  # 2025-01-01 UTC: a fixed year, so the corpus is repeatable

TECH = _words(
    "postgres redis kafka rabbitmq nginx docker kubernetes helm terraform ansible github gitlab "
    "actions jenkins pytest jest vitest playwright cypress svelte sveltekit react nextjs vue "
    "angular typescript javascript python rust golang java kotlin swift django fastapi flask "
    "express nestjs graphql grpc protobuf openapi sqlite mysql mongodb elasticsearch opensearch "
    "clickhouse snowflake bigquery airflow dagster celery sidekiq rails ruby php laravel node "
    "deno bun pnpm npm yarn poetry uv pip conda ruff mypy eslint prettier black webpack vite "
    "esbuild rollup babel tailwind sass storybook figma sentry datadog grafana prometheus loki "
    "jaeger opentelemetry pagerduty opsgenie slack linear jira notion confluence vercel netlify "
    "cloudflare fastly aws gcp azure s3 ec2 lambda ecs eks fargate cloudfront route53 iam rds "
    "dynamodb sqs sns kinesis vault consul nomad envoy istio linkerd traefik caddy haproxy "
    "stripe twilio sendgrid auth0 okta keycloak oauth jwt saml openid ldap bazel make cmake "
    "gradle maven cargo rustup pyenv nvm direnv tmux neovim vscode jetbrains pycharm intellij"
)

WORDS = _words(
    "deploy release build test lint format migrate migration schema index query cache queue "
    "worker job cron schedule retry timeout backoff limit rate quota budget latency throughput "
    "memory leak cpu disk log logs metric metrics alert alerts dashboard trace span error "
    "exception crash panic bug fix patch hotfix rollback revert branch merge rebase review "
    "approval pipeline stage staging production prod preview sandbox local dev environment "
    "config setting flag feature toggle secret token key certificate cert tls ssl dns domain "
    "endpoint route handler middleware controller service client server api webhook callback "
    "event stream topic partition consumer producer offset batch bulk import export sync "
    "replica primary failover backup restore snapshot volume bucket upload download file path "
    "directory module package dependency version upgrade downgrade pin lockfile vendor fork "
    "monorepo workspace repo commit tag changelog docs readme runbook oncall incident "
    "postmortem owner team reviewer customer user account tenant org billing invoice payment "
    "refund subscription plan price tax vat currency order cart checkout shipping inventory "
    "search ranking recommendation report export csv pdf email notification push sms "
    "onboarding signup login logout session password reset permission role admin audit "
    "compliance gdpr retention privacy encryption hashing signing validation parsing "
    "serialization pagination sorting filtering debounce throttle concurrency lock mutex "
    "deadlock race flaky slow fast timezone utc locale translation i18n accessibility mobile "
    "desktop browser safari chrome firefox ios android tablet offline online websocket http "
    "header cookie cors csrf redirect proxy gateway balancer cluster node pod container image "
    "registry tagging artifact binary wheel bundle chunk asset font icon theme layout component "
    "prop state store reducer hook effect render hydration ssr csr seo sitemap analytics"
)

FILLER = _words(
    "always never usually prefer avoid use keep make sure remember note that because since "
    "otherwise instead unless before after when while only also still again first then once "
    "every each new old current previous next main default shared internal external manual "
    "automatic nightly weekly daily hourly broken working fine wrong right careful"
)

PEOPLE = _words(
    "Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert "
    "Sybil Trent Victor Walter Yusuf Zoe Priya Wei Mateo Sofia Lars Ingrid Kenji Amara Omar"
)

_SYLLABLES = _words(
    "ka lo mi nu pe ra si to vu ze ba de fi go hu ja ke li mo ne pi ro su ti an el or"
)
_SECRETS = (
    "AKIA{u16}",  # an AWS access key id
    "password={w}{n}!{w}",
    "ghp_{a36}",  # a GitHub token
    "sk_live_{a24}",  # a Stripe key
)

CATEGORIES = ("facts", "preferences", "projects", "people", "decisions")
CATEGORY_WEIGHTS = (40, 12, 30, 6, 12)

TEMPLATES = (
    "{proj} uses {tech} for {word}; {tech2} handles the {word2}.",
    "Run `{cmd}` before pushing to {proj}: the {word} check fails in CI otherwise.",
    "The {word} {word2} in {proj} lives in {path}; {fn} is the entry point.",
    "{person} owns {word} for {proj}; ask them before changing {path}.",
    "Decided to move {proj} from {tech} to {tech2} because the {word} {word2} was too slow.",
    "{error} in {proj} means the {word} is missing: set {env} and restart the {word2}.",
    "Never call {fn} from a {word} handler in {proj}; it takes the {word2} lock.",
    "In {proj}, {word} tests run with `{cmd}`; they need {tech} running locally.",
    "{ticket}: {word} {word2} regression in {proj} after the {tech} upgrade to {version}.",
    "I {verb} {tech} over {tech2} for {word} work; pin {tech} {version} {filler}.",
    "The {proj} {word} pipeline deploys on merge to main; {word2} goes out {filler}.",
    "{fn} in {path} retries {word} calls {n} times with exponential backoff.",
    "Staging for {proj} is at {proj}.staging.internal; {word} data is reset {filler}.",
    "{proj} stores {word} in the {table} table; {word2} rows are archived after {n} days.",
    "Use {env} to point {proj} at a local {tech}; the default is the shared {word} one.",
    "{person} and {person2} review {proj} {word} changes; {filler} tag them on {ticket}.",
    "The flaky {word} test in {proj} ({fn}) is a {word2} race; rerun, do not skip.",
    "{proj} config: {env}={n}, {env2} must match the {word} {word2} setting.",
)


@dataclass(frozen=True)
class SyntheticMemory:
    content: str
    category: str
    tags: list[str]
    expanded_keywords: str
    importance: float
    project: str | None
    source: str
    created_ms: int
    supersedes: int | None  # the index, in this corpus, of the memory this one replaces
    force_sensitive: bool = False  # (secrets are in the content: the store's rule finds them)


def _zipf(count: int, exponent: float = 1.0) -> list[float]:
    """Cumulative Zipf weights (for `choices(cum_weights=...)`: a bisection per draw, where
    plain weights are summed again at every call)."""
    return list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


def _made_up(rng: random.Random, count: int, syllables: tuple[int, int]) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(*syllables))))
    out = sorted(words)
    rng.shuffle(out)
    return out


@dataclass
class _Project:
    name: str
    identifiers: list[str]  # its own function, module and table names
    busy_from_day: int
    busy_days: int
    share: float  # how much of the year's memories are about it


class Corpus:
    """`memories(n)` draws n memories; `prompts(n)` draws prompts a user would type about them."""

    def __init__(self, seed: int = 20, projects: int = 400) -> None:
        rng = random.Random(seed)
        self.seed = seed
        stems = _made_up(rng, projects * 2, (2, 3))
        suffixes = ("api", "web", "app", "service", "cli", "infra", "sdk", "worker", "etl", "")
        names = []
        for i in range(projects):
            suffix = rng.choice(suffixes)
            names.append(f"{stems[2 * i]}-{suffix}" if suffix else stems[2 * i])
        # A shared tail of identifiers (the long tail of every codebase's names) and each
        # project's own head of them.
        self.identifiers = _made_up(rng, 40_000, (2, 4))
        self.projects = []
        for index, name in enumerate(names):
            own = rng.sample(self.identifiers, 60)
            start = rng.randrange(365)
            self.projects.append(_Project(name, own, start, rng.randint(20, 120), 0.0))
            self.projects[-1].share = 1 / (index + 1) ** 0.8
        self.project_weights = list(itertools.accumulate(p.share for p in self.projects))
        self.tech_weights = _zipf(len(TECH))
        self.word_weights = _zipf(len(WORDS), 0.8)
        self.identifier_weights = _zipf(len(self.identifiers), 1.05)

    def memories(self, count: int) -> Iterator[SyntheticMemory]:
        rng = random.Random(self.seed * 1_000_003 + count)
        recent: dict[str, list[int]] = {}
        for index in range(count):
            project = rng.choices(self.projects, cum_weights=self.project_weights)[0]
            global_ = rng.random() < 0.12  # preferences and facts of no project
            content = self._content(rng, project, secret=rng.random() < 0.01)
            category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
            if global_:
                category = rng.choice(("preferences", "facts", "people"))
            tags = self._tags(rng, project)
            keywords = ""
            if rng.random() < 0.35:
                keywords = " ".join(
                    rng.choices(WORDS + TECH, k=rng.randint(3, 8))
                )  # what an agent guesses a later search will say
            supersedes = None
            own = recent.setdefault(project.name, [])
            if own and not global_ and rng.random() < 0.02:
                supersedes = own[rng.randrange(len(own))]
            own.append(index)
            if len(own) > 50:
                del own[0]
            yield SyntheticMemory(
                content=content,
                category=category,
                tags=tags,
                expanded_keywords=keywords,
                importance=round(min(1.0, max(0.05, rng.gauss(0.55, 0.18))), 2),
                project=None if global_ else project.name,
                source=rng.choices(("auto-learn", "manual", "import"), (70, 25, 5))[0],
                created_ms=self._when(rng, project, index, count),
                supersedes=supersedes,
            )

    def _when(self, rng: random.Random, project: _Project, index: int, count: int) -> int:
        """Mostly inside the project's busy weeks, some at any time; weekdays twice as dense."""
        if rng.random() < 0.7:
            day = (project.busy_from_day + rng.randrange(project.busy_days)) % 365
        else:
            day = rng.randrange(365)
        if (day + 2) % 7 in (5, 6) and rng.random() < 0.5:  # 2025-01-01 was a Wednesday
            day = (day + 2) % 365
        return YEAR_START_MS + day * DAY_MS + rng.randrange(8 * 3_600_000, 20 * 3_600_000)

    def _slots(self, rng: random.Random, project: _Project, secret: bool) -> dict[str, str]:
        def ident() -> str:
            if rng.random() < 0.6:
                return rng.choice(project.identifiers)
            return rng.choices(self.identifiers, cum_weights=self.identifier_weights)[0]

        tech = rng.choices(TECH, cum_weights=self.tech_weights, k=2)
        words = rng.choices(WORDS, cum_weights=self.word_weights, k=2)
        fn = f"{ident()}_{rng.choice(WORDS)}"
        env = f"{ident().upper()}_{rng.choice(WORDS).upper()}"
        slots = {
            "proj": project.name,
            "tech": tech[0],
            "tech2": tech[1],
            "word": words[0],
            "word2": words[1],
            "filler": rng.choice(FILLER),
            "verb": rng.choice(("prefer", "choose", "use", "want")),
            "fn": fn,
            "path": f"{rng.choice(('src', 'lib', 'app', 'pkg'))}/{ident()}/{ident()}.py",
            "cmd": f"{rng.choice(('make', 'pnpm', 'uv run', 'just'))} {rng.choice(WORDS)}",
            "person": rng.choice(PEOPLE),
            "person2": rng.choice(PEOPLE),
            "error": f"{ident().capitalize()}Error",
            "env": env,
            "env2": f"{ident().upper()}_URL",
            "ticket": f"{project.name[:3].upper()}-{rng.randint(100, 9999)}",
            "version": f"{rng.randint(1, 20)}.{rng.randint(0, 30)}",
            "n": str(rng.choice((2, 3, 5, 7, 10, 14, 30, 90))),
            "table": f"{ident()}_{rng.choice(WORDS)}s",
        }
        if secret:
            slots["env"] += "=" + self._secret(rng)
        return slots

    def _secret(self, rng: random.Random) -> str:
        pattern = rng.choice(_SECRETS)
        alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return pattern.format(
            u16="".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16)),
            a36="".join(rng.choices(alnum, k=36)),
            a24="".join(rng.choices(alnum, k=24)),
            w=rng.choice(WORDS),
            n=rng.randint(10, 99),
        )

    def _content(self, rng: random.Random, project: _Project, secret: bool) -> str:
        target = min(1400, max(20, int(math.exp(rng.gauss(math.log(90), 0.6)))))
        parts: list[str] = []
        length = 0
        while length < target:
            slots = self._slots(rng, project, secret and not parts)
            if secret and not parts:
                sentence = "Credentials for {proj} {word}: {env} (rotate on {ticket}).".format(
                    **slots
                )
            else:
                sentence = rng.choice(TEMPLATES).format(**slots)
            parts.append(sentence)
            length += len(sentence) + 1
        return " ".join(parts)[:1400]

    def _tags(self, rng: random.Random, project: _Project) -> list[str]:
        count = rng.choices((0, 1, 2, 3, 4), (15, 30, 30, 15, 10))[0]
        tags = dict.fromkeys(
            rng.choices(TECH, cum_weights=self.tech_weights, k=count)
            + ([project.name] if rng.random() < 0.3 else [])
        )
        return list(tags)

    def prompts(self, count: int, seed: int = 99) -> Iterator[tuple[str, str | None]]:
        """A prompt and the project it is typed in (None: outside any): about a project's own
        names and the common engineering words, as a user asks mid-session."""
        rng = random.Random(seed)
        shapes = (
            "how do we {word} the {word2} in {proj}?",
            "why does {fn} fail with {error} after the {tech} upgrade",
            "where is the {word} {word2} configured, is it {env}?",
            "run the {word} tests for {fn} and fix the {word2}",
            "what did we decide about {tech} vs {tech2} for {word}",
            "who owns {word} here and how do I deploy it to staging",
            "add {word} {word2} handling to {path}",
            "the {word} job is slow again, check {table}",
        )
        for _ in range(count):
            project = rng.choices(self.projects, cum_weights=self.project_weights)[0]
            slots = self._slots(rng, project, secret=False)
            prompt = rng.choice(shapes).format(**slots)
            yield prompt, (project.name if rng.random() < 0.85 else None)
