"""A fake GitLab: the REST endpoints publish:gitlab calls, and git over HTTP.

Shapes and status codes follow docs.gitlab.com/ee/api (v4): ``GET /namespaces/:id`` (id or
URL-encoded full path; ``kind`` is ``group`` or ``user``; 404 "404 Namespace Not Found"),
``GET /user``, ``GET /groups/:id/projects`` and ``GET /users/:id/projects`` with ``search``,
``POST /projects`` (201 with the project; 400 ``{"message": {"name": ["has already been
taken"], ...}}`` when the path is taken), ``GET /projects/:id``, ``POST /projects/:id/members``,
``POST /projects/:id/repository/branches``, ``POST /projects/:id/protected_branches``,
``POST /projects/:id/variables``; 401 "401 Unauthorized" for an unknown token, sent as
``PRIVATE-TOKEN`` or ``Authorization: Bearer``. Repositories live at ``/{full_path}.git``.
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

Handler = Callable[[Request, dict[str, Any], str], Awaitable[Response]]
_PROJECT_SETTINGS = (
    "description",
    "topics",
    "merge_method",
    "squash_option",
    "auto_devops_enabled",
    "ci_config_path",
    "only_allow_merge_if_all_discussions_are_resolved",
    "only_allow_merge_if_pipeline_succeeds",
    "allow_merge_on_skipped_pipeline",
)


class FakeGitLab(FakeHost):
    realm = "GitLab"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        #: full path -> namespace (groups and users' personal namespaces)
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.group_members: dict[str, set[str]] = {}
        self.projects: dict[int, dict[str, Any]] = {}
        self.members: dict[int, dict[int, int]] = {}
        self.protected: dict[int, set[str]] = {}
        self.variables: dict[int, list[dict[str, Any]]] = {}
        #: The token kinds seen on API calls: "private" (PRIVATE-TOKEN) or "oauth" (Bearer).
        self.token_kinds: list[str] = []
        #: Instance administrators: they may write to every namespace.
        self.admins: set[str] = set()
        #: Tokens the REST API accepts but git refuses to take a push from.
        self.push_denied: set[str] = set()
        self._ids = 100

    # ------------------------------------------------------------------ set-up
    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v4"

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def add_user(self, username: str, token: str | None = None) -> dict[str, Any]:
        user = {
            "id": self._next(),
            "username": username,
            "name": username.title(),
            "state": "active",
            "web_url": f"{self.base_url}/{username}",
        }
        self.users[username.lower()] = user
        self.namespaces[username.lower()] = {
            "id": self._next(),
            "name": user["name"],
            "path": username,
            "kind": "user",
            "full_path": username,
            "parent_id": None,
            "web_url": user["web_url"],
        }
        if token:
            self.tokens[token] = username
        return user

    def add_group(self, full_path: str, *, members: list[str]) -> dict[str, Any]:
        parent_path, _, path = full_path.rpartition("/")
        parent = self.namespaces.get(parent_path.lower()) if parent_path else None
        group = {
            "id": self._next(),
            "name": path.title(),
            "path": path,
            "kind": "group",
            "full_path": full_path,
            "parent_id": parent["id"] if parent else None,
            "web_url": f"{self.base_url}/groups/{full_path}",
        }
        self.namespaces[full_path.lower()] = group
        self.group_members[full_path.lower()] = {m.lower() for m in members}
        return group

    def add_project(self, namespace: str, name: str) -> dict[str, Any]:
        """A project that exists before the test runs."""
        return self._create(self.namespaces[namespace.lower()], {"name": name})

    def project(self, full_path: str) -> dict[str, Any] | None:
        return next(
            (
                p
                for p in self.projects.values()
                if p["path_with_namespace"].lower() == full_path.lower()
            ),
            None,
        )

    def _create(self, namespace: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or body.get("path"))
        path = str(body.get("path") or re.sub(r"[^a-z0-9_.-]+", "-", name.lower()))
        full = f"{namespace['full_path']}/{path}"
        project_id = self._next()
        project: dict[str, Any] = {
            "id": project_id,
            "name": name,
            "name_with_namespace": f"{namespace['name']} / {name}",
            "path": path,
            "path_with_namespace": full,
            "description": None,
            "default_branch": None,
            "visibility": body.get("visibility") or "private",
            "topics": [],
            "tag_list": [],
            "ssh_url_to_repo": f"git@127.0.0.1:{full}.git",
            "http_url_to_repo": f"{self.base_url}/{full}.git",
            "web_url": f"{self.base_url}/{full}",
            "readme_url": None,
            "empty_repo": True,
            "archived": False,
            "created_at": "2026-01-01T00:00:00.000Z",
            "namespace": {
                k: namespace[k] for k in ("id", "name", "path", "kind", "full_path", "parent_id")
            },
        }
        for key in _PROJECT_SETTINGS:
            if key in body:
                project[key] = body[key]
        project["tag_list"] = list(project["topics"])
        with self.lock:
            self.projects[project_id] = project
            self.init_bare(full.lower())
        return project

    def on_pushed(self, full_path: str) -> None:
        super().on_pushed(full_path)
        project = self.project(full_path)
        if project is not None:
            branches = self.branches(full_path)
            project["empty_repo"] = not branches
            if project["default_branch"] is None and branches:
                project["default_branch"] = branches[0]

    # --------------------------------------------------------------------- app
    def app(self) -> Starlette:
        api = "/api/v4"
        routes = [
            self._route("GET", f"{api}/user", self._me),
            self._route("GET", f"{api}/namespaces/{{id:path}}", self._namespace),
            self._route("GET", f"{api}/groups/{{id:path}}/projects", self._group_projects),
            self._route("GET", f"{api}/users/{{id}}/projects", self._user_projects),
            self._route("POST", f"{api}/projects", self._create_project),
            self._route("POST", f"{api}/projects/{{id:int}}/members", self._add_member),
            self._route(
                "POST", f"{api}/projects/{{id:int}}/repository/branches", self._create_branch
            ),
            self._route("POST", f"{api}/projects/{{id:int}}/protected_branches", self._protect),
            self._route("POST", f"{api}/projects/{{id:int}}/variables", self._variable),
            self._route("GET", f"{api}/projects/{{id:path}}", self._get_project),
            Route("/{path:path}", self._git, methods=["GET", "POST"]),
        ]
        return Starlette(routes=routes)

    def _route(self, method: str, path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            body = await self.json_body(request)
            # GitLab takes attributes from the query string or the body alike.
            body = {**dict(request.query_params), **body}
            token = request.headers.get("private-token")
            kind = "private"
            if token is None:
                scheme, _, value = request.headers.get("authorization", "").partition(" ")
                token, kind = (value, "oauth") if scheme.lower() == "bearer" else (None, "")
            if token is None or token not in self.tokens:
                response: Response = error(401, {"message": "401 Unauthorized"})
            else:
                self.token_kinds.append(kind)
                response = await handler(request, body, self.tokens[token])
            await self.record(request, response.status_code, body)
            return response

        return Route(path, endpoint, methods=[method])

    def _find_namespace(self, ident: str) -> dict[str, Any] | None:
        if ident.isdigit():
            return next((n for n in self.namespaces.values() if n["id"] == int(ident)), None)
        return self.namespaces.get(ident.lower())

    def _may_write(self, username: str, namespace: dict[str, Any]) -> bool:
        if username.lower() in self.admins:
            return True
        if namespace["kind"] == "user":
            return str(namespace["full_path"]).lower() == username.lower()
        path = str(namespace["full_path"]).lower()
        # Membership of a group is inherited by its subgroups.
        return any(
            username.lower() in members
            for group, members in self.group_members.items()
            if path == group or path.startswith(group + "/")
        )

    def _project_for(self, request: Request, username: str) -> dict[str, Any] | None:
        project = self.projects.get(int(request.path_params["id"]))
        if project is None:
            return None
        namespace = self.namespaces[project["namespace"]["full_path"].lower()]
        return project if self._may_write(username, namespace) else None

    async def _me(self, request: Request, body: dict[str, Any], username: str) -> Response:
        return JSONResponse(self.users[username.lower()])

    async def _namespace(self, request: Request, body: dict[str, Any], username: str) -> Response:
        namespace = self._find_namespace(request.path_params["id"])
        if namespace is None or not self._may_write(username, namespace):
            return error(404, {"message": "404 Namespace Not Found"})
        return JSONResponse(namespace)

    async def _group_projects(
        self, request: Request, body: dict[str, Any], username: str
    ) -> Response:
        namespace = self._find_namespace(request.path_params["id"])
        if namespace is None or namespace["kind"] != "group":
            return error(404, {"message": "404 Group Not Found"})
        return JSONResponse(self._projects_in(namespace, body.get("search")))

    async def _user_projects(
        self, request: Request, body: dict[str, Any], username: str
    ) -> Response:
        namespace = self._find_namespace(request.path_params["id"])
        if namespace is None or namespace["kind"] != "user":
            return error(404, {"message": "404 User Not Found"})
        return JSONResponse(self._projects_in(namespace, body.get("search")))

    def _projects_in(self, namespace: dict[str, Any], search: Any) -> list[dict[str, Any]]:
        needle = str(search or "").lower()
        return [
            p
            for p in self.projects.values()
            if p["namespace"]["id"] == namespace["id"]
            and (needle in p["name"].lower() or needle in p["path"].lower())
        ]

    async def _create_project(
        self, request: Request, body: dict[str, Any], username: str
    ) -> Response:
        if not body.get("name") and not body.get("path"):
            return error(
                400, {"error": "name, path are missing, at least one parameter is required"}
            )
        if body.get("visibility", "private") not in ("private", "internal", "public"):
            return error(400, {"error": "visibility does not have a valid value"})
        ident = str(body.get("namespace_id") or self.namespaces[username.lower()]["id"])
        namespace = self._find_namespace(ident)
        if namespace is None:
            return error(404, {"message": "404 Namespace Not Found"})
        if not self._may_write(username, namespace):
            return error(403, {"message": "403 Forbidden"})
        path = str(body.get("path") or re.sub(r"[^a-z0-9_.-]+", "-", str(body["name"]).lower()))
        if self.project(f"{namespace['full_path']}/{path}") is not None:
            return error(
                400,
                {
                    "message": {
                        "project_namespace.name": ["has already been taken"],
                        "name": ["has already been taken"],
                        "path": ["has already been taken"],
                    }
                },
            )
        return JSONResponse(self._create(namespace, body), status_code=201)

    async def _get_project(self, request: Request, body: dict[str, Any], username: str) -> Response:
        ident = request.path_params["id"]
        project = self.projects.get(int(ident)) if ident.isdigit() else self.project(ident)
        if project is None:
            return error(404, {"message": "404 Project Not Found"})
        return JSONResponse(project)

    async def _add_member(self, request: Request, body: dict[str, Any], username: str) -> Response:
        project = self._project_for(request, username)
        if project is None:
            return error(404, {"message": "404 Project Not Found"})
        user_id = int(body["user_id"])
        user = next((u for u in self.users.values() if u["id"] == user_id), None)
        if user is None:
            return error(404, {"message": "404 User Not Found"})
        if user_id in self.members.get(project["id"], {}):
            return error(409, {"message": "Member already exists"})
        self.members.setdefault(project["id"], {})[user_id] = int(body["access_level"])
        return JSONResponse({**user, "access_level": int(body["access_level"])}, status_code=201)

    async def _create_branch(
        self, request: Request, body: dict[str, Any], username: str
    ) -> Response:
        project = self._project_for(request, username)
        if project is None:
            return error(404, {"message": "404 Project Not Found"})
        full = project["path_with_namespace"].lower()
        ref, branch = str(body.get("ref") or ""), str(body.get("branch") or "")
        if ref not in self.branches(full):
            return error(400, {"message": "Invalid reference name: " + ref})
        run_git("branch", branch, ref, cwd=self.bare_repo(full))
        return JSONResponse({"name": branch, "protected": False}, status_code=201)

    async def _protect(self, request: Request, body: dict[str, Any], username: str) -> Response:
        project = self._project_for(request, username)
        if project is None:
            return error(404, {"message": "404 Project Not Found"})
        name = str(body.get("name") or "")
        if name in self.protected.get(project["id"], set()):
            return error(409, {"message": "Protected branch '" + name + "' already exists"})
        self.protected.setdefault(project["id"], set()).add(name)
        return JSONResponse({"id": self._next(), "name": name}, status_code=201)

    async def _variable(self, request: Request, body: dict[str, Any], username: str) -> Response:
        project = self._project_for(request, username)
        if project is None:
            return error(404, {"message": "404 Project Not Found"})
        if not re.fullmatch(r"[A-Za-z0-9_]{1,255}", str(body.get("key") or "")):
            return error(400, {"message": {"key": ["is invalid"]}})
        self.variables.setdefault(project["id"], []).append(body)
        return JSONResponse(body, status_code=201)

    # --------------------------------------------------------------------- git
    async def _git(self, request: Request) -> Response:
        match = re.fullmatch(
            r"(?P<full>.+?)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)",
            request.path_params["path"],
        )
        project = self.project(match["full"]) if match else None
        if match is None or project is None:
            await self.record(request, 404)
            return Response("Not Found", status_code=404)
        credentials = self.basic_password(request)
        username = self.tokens.get(credentials[1]) if credentials else None
        if username is None:
            return await self.git_unauthorized(request)
        namespace = self.namespaces[project["namespace"]["full_path"].lower()]
        pushing = "git-receive-pack" in (match["rest"], request.query_params.get("service"))
        denied = pushing and credentials is not None and credentials[1] in self.push_denied
        if denied or not self._may_write(username, namespace):
            await self.record(request, 403)
            return Response("Forbidden", status_code=403)
        full = project["path_with_namespace"].lower()
        return await self.git_http(request, full, match["rest"], username)
