-- Statistics cannot overflow: a customer's spend is a sum of bounded
-- amounts over any number of purchases, so it is an unbounded numeric
-- (numeric(16,2) overflowed after a few large sales and made every later
-- purchase of that customer fail), and the count a bigint.
ALTER TABLE customer_stats
    ALTER COLUMN total_spend TYPE numeric,
    ALTER COLUMN purchase_count TYPE bigint;
