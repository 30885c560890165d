"""The web app (网页端): the Chinese screens for every role, served by this process.

The screens are a Vue application built from ``web/`` (Vite) into ``static/``, which is
committed so that a machine with only Python serves it. They use nothing but the public API.
"""
