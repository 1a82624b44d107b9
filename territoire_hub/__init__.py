"""territoire-hub: the regional data-mutualisation hub.

The package maps the project's folders into one namespace:
``territoire_hub.sources`` (sources/), ``territoire_hub.orchestration`` (orchestration/),
``territoire_hub.expectations`` (expectations/), ``territoire_hub.publish`` (publish/).
``territoire_hub.settings`` is the one place configuration comes from.
"""
