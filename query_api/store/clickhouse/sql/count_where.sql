SELECT count(*) FROM {{table}} {{where}}
