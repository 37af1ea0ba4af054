"""The supergraph stage: composed SDL in, a typed :class:`~.model.Supergraph` out.

:mod:`.model` holds the dataclasses the planner queries, :mod:`.parse` reads the join
directives into them, :mod:`.api_schema` derives the schema clients see, and :mod:`.loader`
reads the file or URL and hot-reloads it.
"""
