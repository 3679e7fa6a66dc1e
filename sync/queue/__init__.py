"""Runner `procrastinate`: the channels' jobs as tasks on PostgreSQL (procrastinate).

`omnisync run` serves HTTP and webhooks and sweeps (runner.py, sweeps.py); any number of
`omnisync worker` processes run the tasks (app.py, work.py). Every deferral is our own SQL
in the caller's transaction (defer.py), so a stock change and the push it asks for commit
together (hook.py).
"""
