"""Builds a zeep SOAP client from passlink's WSDL and calls getServerCapabilities through it.
Usage: zeep_wsdl.py BASE_URL USERNUM MD5_PASSWORD"""
import sys

import zeep

base, usernum, password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
client = zeep.Client(base + "/xmlStorageSystem?wsdl")
result = client.service.getServerCapabilities(email=usernum, password=password)
print("result:", result)
assert result["flError"] is False, result
assert result["maxFileSize"] == 1048576, result
assert result["yourUpstreamFolderUrl"] == "%s/users/%s/" % (base, usernum), result
bad = client.service.getServerCapabilities(email=usernum, password="0" * 32)
assert bad["flError"] is True, bad
print("ALL OK")
