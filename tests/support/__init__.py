"""What the tests share, in one place.

``wait``    one wait helper (poll a condition until it holds, with a timeout that says what)
``events``  the recorded Object Storage event fixtures and builders of variants of them
``convert`` datasets, a network-like stream and a sink for the streaming converter
``fakes``   in-memory fakes of the ``oci`` clients the stages and the infer function call
``fdk``     calls through fdk's own request handling and real fdk invoke contexts
``local``   test functions for the local runner and router (``tests/local/fns``)
``store``   reading back objects a test expects in the bucket
``targets`` a recording LocalTarget, the emulator paces the e2e tests run at, status objects
``ui``      the web page tests: a served target, browser settings, page waits, screenshots
"""
