"""gunicorn reads this file from the working directory: request logs mask tokens and
query values (see logs.py). Turn the access log on with --access-logfile."""

logger_class = "logs.GunicornLogger"
