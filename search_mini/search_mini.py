"""Ikomia plugin entry point: the registry imports this module and asks `IkomiaPlugin` for factories."""

from ikomia import dataprocess


class IkomiaPlugin(dataprocess.CPluginProcessInterface):
    """Gives Ikomia the task, parameter and widget factories (imported lazily: the widget needs Qt)."""

    def __init__(self):
        dataprocess.CPluginProcessInterface.__init__(self)

    def get_process_factory(self):
        from search_mini.search_mini_process import SearchMiniFactory

        return SearchMiniFactory()

    def get_widget_factory(self):
        from search_mini.search_mini_widget import SearchMiniWidgetFactory

        return SearchMiniWidgetFactory()

    def get_param_factory(self):
        from search_mini.search_mini_process import SearchMiniParamFactory

        return SearchMiniParamFactory()
