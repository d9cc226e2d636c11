-- Forecasts (issue 9): the event programs' forecast reads the last 13
-- weeks of purchases; without this index that is a scan of every purchase
-- ever recorded.
CREATE INDEX purchases_purchased_at_idx ON purchases (purchased_at);
