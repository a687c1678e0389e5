"""A fake GitHub: the REST endpoints publish:github calls, and git over HTTP.

Shapes and status codes follow docs.github.com/rest (API version 2022-11-28): ``GET /users/{u}``
(``type`` is ``User`` or ``Organization``), ``POST /orgs/{org}/repos`` and ``POST /user/repos``
(201 with the repository, 422 "Repository creation failed." when the name is taken),
``PUT /repos/{o}/{r}/topics``, ``PUT /repos/{o}/{r}/collaborators/{u}`` (201 invitation),
``PUT /orgs/{org}/teams/{slug}/repos/{o}/{r}`` (204), ``PUT .../branches/{b}/protection``;
401 "Bad credentials" for an unknown token. The REST API lives under ``/api/v3`` (as on
GitHub Enterprise Server) and repositories under ``/{owner}/{repo}.git``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import FakeHost, error, run_git

DOCS = "https://docs.github.com/rest"
_TOPIC = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")

Handler = Callable[[Request, dict[str, Any], str], Awaitable[Response]]


class FakeGitHub(FakeHost):
    realm = "GitHub"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.accounts: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}
        self.teams: dict[str, set[str]] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.collaborators: dict[str, dict[str, str]] = {}
        self.team_access: dict[str, dict[str, str]] = {}
        self.protections: dict[str, dict[str, Any]] = {}
        self.signatures: set[str] = set()
        self.variables: dict[str, dict[str, str]] = {}
        self.oidc: dict[str, dict[str, Any]] = {}
        self.subscriptions: set[str] = set()
        #: Users on the free plan: private repositories cannot have branch protection.
        self.free_plan: set[str] = set()
        #: Tokens the REST API accepts but git refuses to take a push from.
        self.push_denied: set[str] = set()
        self._ids = 1000

    # ------------------------------------------------------------------ set-up
    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    def add_user(self, login: str, token: str | None = None) -> None:
        self.accounts[login.lower()] = self._account(login, "User")
        if token:
            self.tokens[token] = login

    def add_org(self, login: str, *, members: list[str], teams: tuple[str, ...] = ()) -> None:
        self.accounts[login.lower()] = self._account(login, "Organization")
        self.members[login.lower()] = {m.lower() for m in members}
        self.teams[login.lower()] = set(teams)

    def add_repo(self, owner: str, name: str) -> dict[str, Any]:
        """A repository that exists before the test runs."""
        return self._create(self.accounts[owner.lower()], {"name": name})

    def repo(self, owner: str, name: str) -> dict[str, Any] | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def _account(self, login: str, kind: str) -> dict[str, Any]:
        self._ids += 1
        return {
            "login": login,
            "id": self._ids,
            "node_id": f"MDQ6VXNlcj{self._ids}",
            "type": kind,
            "site_admin": False,
            "url": f"{self.api_url}/users/{login}",
            "html_url": f"{self.base_url}/{login}",
        }

    def _create(self, owner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        name = str(body["name"])
        full = f"{owner['login']}/{name}"
        visibility = body.get("visibility") or ("private" if body.get("private") else "public")
        html = f"{self.base_url}/{full}"
        repo = {
            "id": self._ids,
            "node_id": f"R_{self._ids}",
            "name": name,
            "full_name": full,
            "owner": {k: owner[k] for k in ("login", "id", "node_id", "type", "url", "html_url")},
            "private": visibility != "public",
            "visibility": visibility,
            "description": body.get("description"),
            "homepage": body.get("homepage"),
            "html_url": html,
            "url": f"{self.api_url}/repos/{full}",
            "clone_url": f"{html}.git",
            "git_url": f"git://127.0.0.1/{full}.git",
            "ssh_url": f"git@127.0.0.1:{full}.git",
            "default_branch": "main",
            "topics": [],
            "has_issues": body.get("has_issues", True),
            "has_projects": body.get("has_projects", True),
            "has_wiki": body.get("has_wiki", True),
            "allow_merge_commit": body.get("allow_merge_commit", True),
            "allow_squash_merge": body.get("allow_squash_merge", True),
            "allow_rebase_merge": body.get("allow_rebase_merge", True),
            "allow_auto_merge": body.get("allow_auto_merge", False),
            "delete_branch_on_merge": body.get("delete_branch_on_merge", False),
            "squash_merge_commit_title": body.get("squash_merge_commit_title"),
            "squash_merge_commit_message": body.get("squash_merge_commit_message"),
            "custom_properties": body.get("custom_properties") or {},
            "created_at": "2026-01-01T00:00:00Z",
        }
        with self.lock:
            self.repos[full.lower()] = repo
            self.init_bare(full.lower())
        return repo

    # --------------------------------------------------------------------- app
    def app(self) -> Starlette:
        api = "/api/v3"
        routes = [
            self._route("GET", f"{api}/user", self._me),
            self._route("GET", f"{api}/users/{{username}}", self._user),
            self._route("GET", f"{api}/orgs/{{org}}/teams/{{team}}", self._team),
            self._route("POST", f"{api}/orgs/{{org}}/repos", self._create_in_org),
            self._route("POST", f"{api}/user/repos", self._create_for_user),
            self._route("GET", f"{api}/repos/{{owner}}/{{repo}}", self._get_repo),
            self._route("PUT", f"{api}/repos/{{owner}}/{{repo}}/topics", self._topics),
            self._route(
                "PUT", f"{api}/repos/{{owner}}/{{repo}}/collaborators/{{user}}", self._collaborator
            ),
            self._route(
                "PUT",
                f"{api}/orgs/{{org}}/teams/{{team}}/repos/{{owner}}/{{repo}}",
                self._team_repo,
            ),
            self._route(
                "POST",
                f"{api}/repos/{{owner}}/{{repo}}/branches/{{branch:path}}/protection/"
                "required_signatures",
                self._signatures,
            ),
            self._route(
                "PUT",
                f"{api}/repos/{{owner}}/{{repo}}/branches/{{branch:path}}/protection",
                self._protect,
            ),
            self._route(
                "POST", f"{api}/repos/{{owner}}/{{repo}}/actions/variables", self._variable
            ),
            self._route(
                "PUT", f"{api}/repos/{{owner}}/{{repo}}/actions/oidc/customization/sub", self._oidc
            ),
            self._route("PUT", f"{api}/repos/{{owner}}/{{repo}}/subscription", self._subscribe),
            Route("/{owner}/{repo}/{rest:path}", self._git, methods=["GET", "POST"]),
        ]
        return Starlette(routes=routes)

    def _route(self, method: str, path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            body = await self.json_body(request)
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if not header:
                response: Response = error(
                    401, {"message": "Requires authentication", "documentation_url": DOCS}
                )
            elif scheme.lower() not in ("token", "bearer") or token not in self.tokens:
                response = error(
                    401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
                )
            else:
                response = await handler(request, body, self.tokens[token])
            await self.record(request, response.status_code, body)
            return response

        return Route(path, endpoint, methods=[method])

    @staticmethod
    def _not_found() -> JSONResponse:
        return error(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def _can_admin(self, login: str, owner: str) -> bool:
        return login.lower() == owner.lower() or login.lower() in self.members.get(
            owner.lower(), set()
        )

    def _repo_for(self, request: Request, login: str) -> dict[str, Any] | None:
        repo = self.repo(request.path_params["owner"], request.path_params["repo"])
        if repo is None or not self._can_admin(login, repo["owner"]["login"]):
            return None
        return repo

    async def _me(self, request: Request, body: dict[str, Any], login: str) -> Response:
        return JSONResponse(self.accounts[login.lower()])

    async def _user(self, request: Request, body: dict[str, Any], login: str) -> Response:
        account = self.accounts.get(request.path_params["username"].lower())
        return JSONResponse(account) if account else self._not_found()

    async def _team(self, request: Request, body: dict[str, Any], login: str) -> Response:
        org = request.path_params["org"].lower()
        team = request.path_params["team"]
        if team not in self.teams.get(org, set()):
            return self._not_found()
        return JSONResponse({"id": hash(team) & 0xFFFF, "slug": team, "name": team})

    async def _create_in_org(self, request: Request, body: dict[str, Any], login: str) -> Response:
        org = self.accounts.get(request.path_params["org"].lower())
        if org is None or org["type"] != "Organization":
            return self._not_found()
        if not self._can_admin(login, org["login"]):
            return error(
                403,
                {
                    "message": "You need admin access to the organization before adding a "
                    "repository to it.",
                    "documentation_url": DOCS,
                    "status": "403",
                },
            )
        return self._create_checked(org, body)

    async def _create_for_user(
        self, request: Request, body: dict[str, Any], login: str
    ) -> Response:
        if body.get("visibility") == "internal":
            return self._invalid("visibility", "internal is only available to organizations")
        return self._create_checked(self.accounts[login.lower()], body)

    def _create_checked(self, owner: dict[str, Any], body: dict[str, Any]) -> Response:
        name = body.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name):
            return self._invalid("name", "name is invalid")
        if self.repo(owner["login"], name) is not None:
            return error(
                422,
                {
                    "message": "Repository creation failed.",
                    "errors": [
                        {
                            "resource": "Repository",
                            "code": "custom",
                            "field": "name",
                            "message": "name already exists on this account",
                        }
                    ],
                    "documentation_url": DOCS,
                    "status": "422",
                },
            )
        return JSONResponse(self._create(owner, body), status_code=201)

    @staticmethod
    def _invalid(field: str, message: str) -> JSONResponse:
        return error(
            422,
            {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "Repository",
                        "code": "invalid",
                        "field": field,
                        "message": message,
                    }
                ],
                "documentation_url": DOCS,
                "status": "422",
            },
        )

    async def _get_repo(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        return JSONResponse({**repo, "default_branch": self._default_branch(repo)})

    def _default_branch(self, repo: dict[str, Any]) -> str:
        head = run_git("symbolic-ref", "HEAD", cwd=self.bare_repo(repo["full_name"].lower()))
        return head.strip().removeprefix("refs/heads/")

    async def _topics(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        names = body.get("names")
        if not isinstance(names, list) or not all(
            isinstance(n, str) and _TOPIC.match(n) for n in names
        ):
            return self._invalid("names", "topics must be lowercase letters, digits and hyphens")
        repo["topics"] = list(names)
        return JSONResponse({"names": repo["topics"]})

    async def _collaborator(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        user = self.accounts.get(request.path_params["user"].lower())
        if repo is None or user is None or user["type"] != "User":
            return self._not_found()
        if user["login"].lower() == repo["owner"]["login"].lower():
            return self._invalid("username", "Repository owner cannot be a collaborator")
        permission = str(body.get("permission") or "push")
        self.collaborators.setdefault(repo["full_name"], {})[user["login"]] = permission
        self._ids += 1
        return JSONResponse(
            {
                "id": self._ids,
                "repository": {"id": repo["id"], "full_name": repo["full_name"]},
                "invitee": user,
                "inviter": self.accounts[login.lower()],
                "permissions": permission,
                "created_at": "2026-01-01T00:00:00Z",
                "html_url": f"{repo['html_url']}/invitations",
            },
            status_code=201,
        )

    async def _team_repo(self, request: Request, body: dict[str, Any], login: str) -> Response:
        org = request.path_params["org"].lower()
        team = request.path_params["team"]
        repo = self._repo_for(request, login)
        if repo is None or team not in self.teams.get(org, set()):
            return self._not_found()
        permission = str(body.get("permission") or "push")
        self.team_access.setdefault(repo["full_name"], {})[team] = permission
        return Response(status_code=204)

    async def _protect(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        branch = request.path_params["branch"]
        if repo["private"] and repo["owner"]["login"].lower() in self.free_plan:
            return error(
                403,
                {
                    "message": "Upgrade to GitHub Pro or make this repository public to "
                    "enable this feature.",
                    "documentation_url": DOCS,
                    "status": "403",
                },
            )
        if branch not in self.branches(repo["full_name"].lower()):
            return error(404, {"message": "Branch not found", "documentation_url": DOCS})
        missing = [
            key
            for key in (
                "required_status_checks",
                "enforce_admins",
                "required_pull_request_reviews",
                "restrictions",
            )
            if key not in body
        ]
        if missing:
            return self._invalid(missing[0], f"{missing[0]} is required (it may be null)")
        self.protections[f"{repo['full_name']}:{branch}"] = body
        url = f"{repo['url']}/branches/{branch}/protection"
        return JSONResponse(
            {
                "url": url,
                "required_status_checks": body["required_status_checks"],
                "enforce_admins": {
                    "url": f"{url}/enforce_admins",
                    "enabled": bool(body["enforce_admins"]),
                },
                "required_pull_request_reviews": body["required_pull_request_reviews"],
                "required_linear_history": {"enabled": bool(body.get("required_linear_history"))},
            }
        )

    async def _signatures(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        self.signatures.add(f"{repo['full_name']}:{request.path_params['branch']}")
        return JSONResponse({"enabled": True})

    async def _variable(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        self.variables.setdefault(repo["full_name"], {})[str(body["name"])] = str(body["value"])
        return JSONResponse({}, status_code=201)

    async def _oidc(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        self.oidc[repo["full_name"]] = body
        return JSONResponse({}, status_code=201)

    async def _subscribe(self, request: Request, body: dict[str, Any], login: str) -> Response:
        repo = self._repo_for(request, login)
        if repo is None:
            return self._not_found()
        self.subscriptions.add(repo["full_name"])
        return JSONResponse({"subscribed": True, "ignored": False})

    # --------------------------------------------------------------------- git
    async def _git(self, request: Request) -> Response:
        owner = request.path_params["owner"]
        name = request.path_params["repo"].removesuffix(".git")
        rest = request.path_params["rest"]
        repo = self.repo(owner, name)
        if repo is None or rest not in ("info/refs", "git-upload-pack", "git-receive-pack"):
            await self.record(request, 404)
            return Response("Not Found", status_code=404)
        credentials = self.basic_password(request)
        login = self.tokens.get(credentials[1]) if credentials else None
        if login is None:
            return await self.git_unauthorized(request)
        pushing = "git-receive-pack" in (rest, request.query_params.get("service"))
        denied = pushing and credentials is not None and credentials[1] in self.push_denied
        if denied or not self._can_admin(login, repo["owner"]["login"]):
            await self.record(request, 403)
            return Response("Permission denied", status_code=403)
        return await self.git_http(request, repo["full_name"].lower(), rest, login)
