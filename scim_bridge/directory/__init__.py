"""The narrow interface between the SCIM service layer and a directory upstream (OpsGenie today)."""
