"""Log in from the university's learning-management system (Canvas, Moodle, ...) with LTI 1.3.

Not tested here (it needs a registered LMS): copy this file, fill in what the LMS gave when the
course's hub was registered as an external tool, then start the hub with
    HUB_AUTH_CONFIG=/etc/dl-course/lti13.py course hub start --ip 0.0.0.0
after `pip install jupyterhub-ltiauthenticator==1.6.3` into the hub's environment (PREFIX/venv).
Behind HTTPS only (the LMS refuses plain http): put the hub behind the university's proxy.
"""

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
c.LTI13Authenticator.issuer = "https://canvas.example.edu"
c.LTI13Authenticator.client_id = ["125900000000000001"]
c.LTI13Authenticator.authorize_url = "https://canvas.example.edu/api/lti/authorize_redirect"
c.LTI13Authenticator.jwks_endpoint = "https://canvas.example.edu/api/lti/security/jwks"
c.LTI13Authenticator.username_key = "email"  # or the LMS's login id claim
# Users then exist only in the LMS. LocalProcessSpawner runs each server as a Linux user of the
# same name: create those accounts first (e.g. from the LMS's roster), or use a container spawner
# (DockerSpawner, KubeSpawner; see the guide's Kubernetes section).
c.Authenticator.allow_all = True  # whoever the LMS launches for this course
c.Authenticator.admin_users = {"instructor@example.edu"}
