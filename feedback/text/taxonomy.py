"""The default CX taxonomy a new organization starts from."""

from __future__ import annotations

from .types import Taxonomy, ThemeSpec


def default_taxonomy() -> Taxonomy:
    return Taxonomy(
        themes=(
            ThemeSpec(
                "delivery",
                "Delivery",
                "物流配送",
                ("delivery", "shipping", "courier"),
                ("物流", "快递", "配送", "送货"),
            ),
            ThemeSpec(
                "price", "Price", "价格", ("price", "expensive", "cheap"), ("价格", "贵", "便宜", "价钱")
            ),
            ThemeSpec(
                "product_quality",
                "Product quality",
                "产品质量",
                ("quality", "broken", "defective"),
                ("质量", "东西", "坏了", "做工"),
            ),
            ThemeSpec(
                "customer_service",
                "Customer service",
                "客户服务",
                ("customer service", "support"),
                ("客服", "售后"),
            ),
            ThemeSpec("staff", "Staff", "员工", ("staff", "employee", "cashier"), ("店员", "员工", "服务员")),
            ThemeSpec("wait_time", "Wait time", "等待时间", ("wait", "queue"), ("等待", "排队", "等了")),
            ThemeSpec(
                "app_website",
                "App and website",
                "应用和网站",
                ("app", "website", "site"),
                ("app", "网站", "应用", "页面"),
            ),
            ThemeSpec(
                "checkout_payment",
                "Checkout and payment",
                "结账和支付",
                ("checkout", "payment", "pay"),
                ("支付", "付款", "结账"),
            ),
            ThemeSpec(
                "returns_refunds",
                "Returns and refunds",
                "退换货和退款",
                ("return", "refund"),
                ("退货", "退款", "换货"),
            ),
            ThemeSpec("billing", "Billing", "账单", ("bill", "invoice", "charge"), ("账单", "发票", "扣费")),
            ThemeSpec("store", "Store", "门店", ("store", "shop"), ("门店", "店里", "商店")),
            ThemeSpec(
                "communication",
                "Communication",
                "沟通",
                ("email", "message", "notification"),
                ("短信", "通知", "沟通"),
            ),
        )
    )
