"""Example DAGs shipped with the provider (also the DAGs folder of ``make demo``, the compose stack and the tests).

Point a DAGs folder at this package's directory, or copy a file, to run one; each file carries
``[START howto_…]``/``[END howto_…]`` markers that the docs include. Nothing here runs on import.
"""
