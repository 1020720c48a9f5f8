"""JupyterHub for a class of the course on one server, as `course hub start` (`make hub`) runs it.

dlcourse/hub.py builds what this file names and passes the paths in the environment (HUB_*).
Authentication: PAM, the server's own Linux accounts (the demo class's, made by `course hub
setup`). A university's login instead: put the authenticator's settings in a file and name it in
HUB_AUTH_CONFIG (hub/lti13.example.py, hub/oauth.example.py): no code changes.
"""

import os
import sys

PREFIX = os.environ.get("HUB_PREFIX", "/opt/dl-course")
STATE = os.environ.get("HUB_STATE", "/srv/dl-course-hub")
INSTRUCTORS = {name for name in os.environ.get("HUB_INSTRUCTOR", "dl-instructor").split(",") if name}
STUDENTS = {name for name in os.environ.get("HUB_STUDENTS", "").split(",") if name}

c = get_config()  # noqa: F821 (traitlets provides it)
c.JupyterHub.ip = os.environ.get("HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
PRIVATE = os.path.join(STATE, "private")  # mode 700: JupyterHub writes its database world-readable
c.JupyterHub.cookie_secret_file = os.path.join(PRIVATE, "cookie_secret")
c.JupyterHub.db_url = f"sqlite:///{os.path.join(PRIVATE, 'jupyterhub.sqlite')}"
c.ConfigurableHTTPProxy.command = [os.path.join(PREFIX, "proxy", "node_modules", ".bin", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(PRIVATE, "proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = set(INSTRUCTORS)

# every user's JupyterLab runs as that user, from the course's environment (readable by all)
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(PREFIX, "venv", "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
c.Spawner.environment = {"DLCOURSE_SMOKE": os.environ.get("DLCOURSE_SMOKE", "0")}


def role_configuration(spawner):
    """Each role's Jupyter configuration (nbgrader's exchange; for students no formgrader)."""
    role = "instructor" if spawner.user.name in INSTRUCTORS else "student"
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.path.join(PREFIX, "config", role)
    spawner.environment["PATH"] = f"{os.path.join(PREFIX, 'venv', 'bin')}:/usr/local/bin:/usr/bin:/bin"


c.Spawner.pre_spawn_hook = role_configuration

if os.environ.get("HUB_AUTH_CONFIG"):  # a university's authenticator: a config file, see the guide
    load_subconfig(os.environ["HUB_AUTH_CONFIG"])  # noqa: F821
    print(f"authenticator settings from {os.environ['HUB_AUTH_CONFIG']}", file=sys.stderr)
