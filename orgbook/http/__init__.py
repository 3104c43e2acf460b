"""The HTTP application shell: error responses, middleware, rate limits, caching, health.

Routes live with their areas (``orgbook.verifier.api``, ``orgbook.issuer.api``…); this package
gives them what every endpoint shares. ``orgbook.app.create_app`` assembles the application.
"""
