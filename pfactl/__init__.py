"""pfactl: the analysts' tool. Export scikit-learn models to PFA, validate, score locally, upload and roll back.

Not deployed to Lambda; it may import scikit-learn, chalicelib must not.
"""
