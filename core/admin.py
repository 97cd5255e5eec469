from django.contrib import admin

from core.models import Engine


@admin.register(Engine)
class EngineAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "host", "port", "database", "path", "password_env")
    list_filter = ("kind",)
    search_fields = ("name", "host", "database", "path", "description")
