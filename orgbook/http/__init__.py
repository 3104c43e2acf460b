"""The HTTP application shell: error responses, middleware, rate limits, caching, health.

Routes live with their areas (``orgbook.verifier.api``, ``orgbook.issuer.api``…); this package
gives them what every endpoint shares, so it sits below the areas and imports none of them.
``orgbook.app.create_app`` (above the areas) assembles the application, and hands
:func:`orgbook.http.serving.serve` its factory.
"""
