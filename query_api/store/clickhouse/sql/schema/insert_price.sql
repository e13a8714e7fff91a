INSERT INTO crewscope_prices ("Provider", "Model", "Known", "Fixed", "Input", "Output", "CacheRead", "CacheWrite")
VALUES ($provider, $model, $known, $fixed, $input, $output, $cache_read, $cache_write)
