"""The simulated org's metadata: objects, fields, types, picklists, relationships.

Standard fields from salesforce-rest.md §9, custom fields from salesforce-org.md
and resolutions.md §4.  Field names are canonical API names; lookups by name are
case-insensitive as in Salesforce.  Every picklist is restricted: a value outside
the list is rejected (stricter than some standard picklists, on purpose: a wrong
value is a portal bug we want to see).
"""


class Field:
    def __init__(self, name, ftype, length=None, values=None, required=False, readonly=False,
                 createonly=False, ref=None, rel=None, unique=False, external_id=False,
                 default=None, label=None):
        self.name = name
        self.type = ftype          # id string textarea email picklist reference boolean
        self.length = length       # double currency date datetime autonumber
        self.values = values
        self.required = required   # on create
        self.readonly = readonly   # neither createable nor updateable
        self.createonly = createonly
        self.ref = ref             # target object of a reference field
        self.rel = rel             # parent relationship name (AccountId -> Account)
        self.unique = unique
        self.external_id = external_id
        self.default = default
        self.label = label or name.replace("__c", "").replace("_", " ")


class SObject:
    def __init__(self, name, prefix, fields, children=None):
        self.name = name
        self.prefix = prefix
        self.fields = {}
        for f in _AUDIT + fields:
            self.fields[f.name] = f
        self._by_lower = {n.lower(): f for n, f in self.fields.items()}
        self.rels = {f.rel.lower(): f for f in self.fields.values() if f.rel}
        # child relationship name -> (child object, its reference field)
        self.children = children or {}

    def field(self, name):
        return self._by_lower.get(name.lower())

    def parent_rel(self, name):
        return self.rels.get(name.lower())

    def child_rel(self, name):
        for rel, spec in self.children.items():
            if rel.lower() == name.lower():
                return rel, spec
        return None


def S(name, length=255, **kw):
    return Field(name, "string", length=length, **kw)


def P(name, values, **kw):
    return Field(name, "picklist", values=values, **kw)


def R(name, target, rel=None, **kw):
    return Field(name, "reference", ref=target, rel=rel or name[:-2], **kw)


def RO(name, ftype, **kw):
    return Field(name, ftype, readonly=True, **kw)


_AUDIT = [
    RO("Id", "id"),
    RO("IsDeleted", "boolean"),
    RO("CreatedDate", "datetime"),
    RO("CreatedById", "string"),
    RO("LastModifiedDate", "datetime"),
    RO("LastModifiedById", "string"),
    RO("SystemModstamp", "datetime"),
]

_ADDRESS = ["Street", "City", "State", "PostalCode", "Country"]

BILLING_CYCLES = ["Monthly", "Quarterly", "Semi-Annually", "Annually", "One Time"]
ORDER_STATUSES = ["Draft", "Pending Review", "Approved", "Activated", "Cancelled"]
# resolutions.md §2: StatusCode category of each Order Status value
STATUS_CODE = {"Draft": "Draft", "Pending Review": "Draft", "Approved": "Draft",
               "Activated": "Activated", "Cancelled": "Cancelled"}
ACTIVATION_STATUSES = ["Not Started", "Activating", "Activated", "Failed"]
CASE_STATUSES = ["New", "Working", "Escalated", "Closed"]

OBJECTS = {o.name: o for o in [
    SObject("Account", "001", [
        S("Name", required=True),
        S("Phone", 40),
        *[S("Billing" + p, 255 if p == "Street" else 80) for p in _ADDRESS],
        S("Customer_Number__c", 20, unique=True, external_id=True),
        Field("Email__c", "email", length=80),
        P("Portal_Status__c", ["Not Registered", "Active", "Disabled"]),
        S("WHMCS_Client_ID__c", 20),
        S("Internet_Eligibility__c", 255),
        Field("SIM_Family_Discount__c", "boolean", default=False),
    ], children={"Contacts": ("Contact", "AccountId"), "Cases": ("Case", "AccountId"),
                 "Orders": ("Order", "AccountId")}),
    SObject("Contact", "003", [
        R("AccountId", "Account"),
        S("FirstName", 40),
        S("LastName", 80, required=True),
        RO("Name", "string", length=121),
        Field("Email", "email", length=80),
        S("Phone", 40),
    ], children={"Cases": ("Case", "ContactId")}),
    SObject("Product2", "01t", [
        S("Name", required=True),
        S("ProductCode", 255),
        S("StockKeepingUnit", 180, unique=True),
        Field("Description", "textarea", length=4000),
        Field("IsActive", "boolean", default=False),
        Field("Portal_Catalog__c", "boolean", default=False),
        P("Portal_Category__c", ["internet", "sim", "vpn"]),
        P("Item_Class__c", ["Plan", "Add-on", "Activation Fee", "Installation"]),
        S("Eligibility_Group__c", 40),
        Field("Portal_Features__c", "textarea", length=32768),
        Field("WH_Product_ID__c", "double"),
        P("Billing_Cycle__c", BILLING_CYCLES),
        Field("Family_Discount_Price__c", "currency"),
        S("Freebit_Plan_Code__c", 32),
    ], children={"PricebookEntries": ("PricebookEntry", "Product2Id")}),
    SObject("Pricebook2", "01s", [
        S("Name", required=True),
        Field("IsActive", "boolean", default=False),
        RO("IsStandard", "boolean"),
        S("Description", 255),
    ], children={"PricebookEntries": ("PricebookEntry", "Pricebook2Id")}),
    SObject("PricebookEntry", "01u", [
        RO("Name", "string"),
        R("Pricebook2Id", "Pricebook2", required=True, createonly=True),
        R("Product2Id", "Product2", required=True, createonly=True),
        Field("UnitPrice", "currency", required=True),
        Field("IsActive", "boolean", default=False),
        Field("UseStandardPrice", "boolean", default=False),
        RO("ProductCode", "string"),
    ]),
    SObject("Order", "801", [
        R("AccountId", "Account", required=True),
        Field("EffectiveDate", "date", required=True),
        P("Status", ORDER_STATUSES, required=True),
        RO("StatusCode", "string"),
        R("Pricebook2Id", "Pricebook2"),
        RO("OrderNumber", "autonumber"),
        RO("TotalAmount", "currency"),
        S("Name", 80),
        Field("Description", "textarea", length=32000),
        S("Type", 255),
        RO("ActivatedDate", "datetime"),
        *[S("Shipping" + p, 255 if p == "Street" else 80) for p in _ADDRESS],
        P("Activation_Status__c", ACTIVATION_STATUSES),
        S("Activation_Error_Code__c", 40),
        S("Activation_Error_Message__c", 255),
        Field("Activation_Last_Attempt__c", "datetime"),
        S("WHMCS_Order_ID__c", 20),
        S("Portal_Idempotency_Key__c", 80, unique=True, external_id=True),
        P("Order_Type__c", ["Internet", "SIM", "VPN"]),
        P("SIM_Type__c", ["Physical", "eSIM"]),
        S("SIM_MSISDN__c", 11),
        S("SIM_EID__c", 32),
    ], children={"OrderItems": ("OrderItem", "OrderId")}),
    SObject("OrderItem", "802", [
        R("OrderId", "Order", required=True, createonly=True),
        R("PricebookEntryId", "PricebookEntry", required=True, createonly=True),
        R("Product2Id", "Product2", createonly=True),
        Field("Quantity", "double", required=True),
        Field("UnitPrice", "currency", required=True),
        RO("ListPrice", "currency"),
        RO("TotalPrice", "currency"),
        Field("ServiceDate", "date"),
        Field("EndDate", "date"),
        S("Description", 255),
        RO("OrderItemNumber", "autonumber"),
    ]),
    SObject("Case", "500", [
        RO("CaseNumber", "autonumber"),
        S("Subject", 255),
        Field("Description", "textarea", length=32000),
        P("Status", CASE_STATUSES, default="New"),
        P("Priority", ["High", "Medium", "Low"], default="Medium"),
        P("Origin", ["Phone", "Email", "Web", "Portal Website"]),
        P("Type", ["Billing", "Technical", "Account", "Order", "Other"]),
        S("Reason", 255),
        R("AccountId", "Account"),
        R("ContactId", "Contact"),
        S("SuppliedName", 80),
        Field("SuppliedEmail", "email", length=80),
        S("SuppliedPhone", 40),
        S("SuppliedCompany", 80),
        RO("IsClosed", "boolean"),
        RO("ClosedDate", "datetime"),
        Field("IsEscalated", "boolean", default=False),
    ], children={"CaseComments": ("CaseComment", "ParentId")}),
    SObject("CaseComment", "00a", [
        R("ParentId", "Case", rel="Parent", required=True, createonly=True),
        Field("CommentBody", "textarea", length=4000),
        Field("IsPublished", "boolean", default=False),
    ]),
]}

PREFIXES = {o.prefix: o.name for o in OBJECTS.values()}


def sobject(name):
    """The object by case-insensitive name, or None."""
    for n, o in OBJECTS.items():
        if n.lower() == name.lower():
            return o
    return None
