DROP TABLE IF EXISTS klepto_leases;
