"""bouncewatch's database schema as Alembic migrations (``bouncewatch db upgrade`` applies them).

A package so that ``daemon.db`` finds this directory wherever bouncewatch is installed.
"""
