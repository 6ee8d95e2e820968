"""gradverify, the tool a person runs: `gradverify grad | fuzz | check-engine | bugs | demo`.

The engine is `autodiff`; the referees and the judgement are `oracles`; this package is the command line, its
reports, the fuzz campaign, the checking of other people's engines (`gradverify.engines`), the catalog of
classic engine bugs and the training demos.
"""

__version__ = "0.1.0"
