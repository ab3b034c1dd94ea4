"""Stdlib-only scripts that generated workflows inline into run: steps (and ops can import).

A script may import its siblings here (script_http.py, the preview_*.py modules of pr_preview.py). On the
runner, :func:`workflows.render.write_script` writes the script AND every sibling it imports (found in its
import statements, transitively) into $RUNNER_TEMP, each as its own heredoc; ``python3 $RUNNER_TEMP/x.py``
then finds them by their bare names, the script's folder being ``sys.path[0]``. In maya-infra (tests, ops,
bench, mypy) the same file is the module ``workflows.scripts.x`` and must import its siblings as
``workflows.scripts.<sibling>``, so that no file is seen under two module names. Each importing module
says so in one block::

    if TYPE_CHECKING or __package__:  # imported as workflows.scripts.x (and always, to mypy)
        from workflows.scripts import script_http
    else:  # run as a file from $RUNNER_TEMP, next to the siblings write_script wrote
        import script_http

``__package__`` is ``"workflows.scripts"`` when imported, and empty when run as a file; mypy takes the first
branch only (``TYPE_CHECKING``), so it needs no ignore. A sibling is imported as a module and used by
attribute (``script_http.append(...)``), which keeps the two branches one name each.
"""
