"""The operator console: server-rendered pages (Jinja2) on the hub's own FastAPI app,
under `/` beside /api/v1, and the users and roles it shares with the API.

- console.py: `install_console(app)`: the routers, the static files, the login redirect.
- passwords.py: argon2id hashing of console passwords.
- identity.py: who a request is (session cookie or bearer token) and what its role may do.
- cookies.py: the signed, timestamped session cookie.
- throttle.py: how many failed logins a name or a client may make.
- rendering.py: the Jinja2 environment and `render(...)`, which every page calls.
- forms.py: the CSRF check every form post passes, and reading forms.
- charts.py: small SVG bar and line charts drawn on the server (no JavaScript library).
- paging.py: key-paged lists for pages (never by offset).
- pages/: one router per screen.
- templates/, static/: the pages and our own CSS and JavaScript (no CDN).
"""
