"""Log in with the university's single sign-on (OpenID Connect / OAuth 2) through oauthenticator.

Not tested here (it needs the university's identity provider): copy this file, fill in the
client registered with the provider (redirect URL https://HUB/hub/oauth_callback), then
    HUB_AUTH_CONFIG=/etc/dl-course/oauth.py course hub start --ip 0.0.0.0
after `pip install oauthenticator==17.4.0` into the hub's environment (PREFIX/venv).
"""

c = get_config()  # noqa: F821
# LocalGenericOAuthenticator: the OAuth login, and a Linux account per user for LocalProcessSpawner
c.JupyterHub.authenticator_class = "oauthenticator.generic.LocalGenericOAuthenticator"
c.LocalGenericOAuthenticator.create_system_users = True
c.LocalGenericOAuthenticator.client_id = "dl-course-hub"
c.LocalGenericOAuthenticator.client_secret = "from the provider (better: the OAUTH_CLIENT_SECRET variable)"
c.LocalGenericOAuthenticator.oauth_callback_url = "https://hub.example.edu/hub/oauth_callback"
c.LocalGenericOAuthenticator.authorize_url = "https://sso.example.edu/oauth2/authorize"
c.LocalGenericOAuthenticator.token_url = "https://sso.example.edu/oauth2/token"
c.LocalGenericOAuthenticator.userdata_url = "https://sso.example.edu/oauth2/userinfo"
c.LocalGenericOAuthenticator.username_claim = "preferred_username"
# the class: the provider's group for it (groups read from the userinfo's "groups" claim)
c.LocalGenericOAuthenticator.manage_groups = True
c.LocalGenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
c.LocalGenericOAuthenticator.allowed_groups = {"dl-course-2027"}
c.LocalGenericOAuthenticator.admin_users = {"instructor"}
