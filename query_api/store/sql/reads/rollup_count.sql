-- How many daily rollup rows match (table and name column from the slots).
SELECT count(*) FROM {{table}}
WHERE "Day" BETWEEN $date_from AND $date_to AND ($name IS NULL OR {{name_column}} = $name)
